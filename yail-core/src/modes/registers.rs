//! Graphics 10: nine colour registers chosen per picture.
//!
//! The registers P0-P3, PF0-PF3 and BAK can each hold any of the 128
//! colours (16 hues x 8 luminances) the machine shows. We pick the nine
//! that best cover the picture, send them as the palette block, and dither
//! against them.
//!
//! Choice: every pixel votes for its nearest machine colour; nine colours
//! are then chosen greedily, each time the one that lowers the total
//! (vote-weighted) distance most, and improved by swapping single colours
//! while that helps. Pictures with fewer than nine distinct colours simply
//! repeat one (no register is ever left undefined).

use yail_proto::{GfxMode, Packet};

use super::context::{EncodeContext, Work};
use super::pack::pack;
use super::screen::{Screen, working_values};
use crate::colour::luminance709;
use crate::error::Result;
use crate::nearest::ColourSearch;
use crate::palette::AtariPalette;
use crate::quantizer::Quantizer;

/// Registers in the order of pixel values and of the palette block.
const REGISTERS: usize = 9;
/// Swap passes in the refinement; each pass rarely changes more than one colour.
const SWAP_PASSES: usize = 3;

pub(super) fn encode(
    screen: &Screen,
    frame: &[u8],
    ctx: &EncodeContext<'_>,
    work: &mut Work,
) -> Result<Packet> {
    let bytes: Vec<u8> = AtariPalette::register_colours().collect();
    let candidates: Vec<[f32; 3]> = bytes
        .iter()
        .map(|&c| ctx.palette.rgb(c).map(|v| ctx.blend.from_u8(v)))
        .collect();
    working_values(frame, screen, 3, &ctx.blend.table(), &mut work.values);

    let mut votes = vec![0u32; candidates.len()];
    let mut all = ColourSearch::new(candidates.clone());
    for px in work.values.chunks_exact(3) {
        votes[usize::from(all.nearest([px[0], px[1], px[2]]))] += 1;
    }
    let chosen = choose(&candidates, &votes, REGISTERS);

    // The darkest colour goes to BAK (value 8): it is also the border colour.
    let mut order: Vec<usize> = chosen;
    order.sort_by(|&a, &b| luminance709(&candidates[b]).total_cmp(&luminance709(&candidates[a])));
    let registers: Vec<u8> = order.iter().map(|&i| bytes[i]).collect();
    let mut search = ColourSearch::new(order.iter().map(|&i| candidates[i]).collect());
    work.dither(screen, ctx.dither, &mut search);
    Ok(Packet::image(
        GfxMode::Gr10,
        registers,
        pack(&work.indices, 4),
    )?)
}

fn distance(a: &[f32; 3], b: &[f32; 3]) -> f32 {
    (0..3).map(|k| (a[k] - b[k]).powi(2)).sum()
}

/// Picks `k` candidate indices minimising the vote-weighted distance of
/// every voted candidate to its nearest pick. Always returns `k` indices.
fn choose(candidates: &[[f32; 3]], votes: &[u32], k: usize) -> Vec<usize> {
    let voted: Vec<(usize, f32)> = votes
        .iter()
        .enumerate()
        .filter(|(_, v)| **v > 0)
        .map(|(i, &v)| (i, v as f32))
        .collect();
    let cost = |set: &[usize]| -> f32 {
        voted
            .iter()
            .map(|&(b, w)| {
                w * set
                    .iter()
                    .map(|&c| distance(&candidates[b], &candidates[c]))
                    .fold(f32::INFINITY, f32::min)
            })
            .sum()
    };
    let mut chosen: Vec<usize> = Vec::with_capacity(k);
    while chosen.len() < k.min(voted.len()) {
        let mut best: Option<(f32, usize)> = None;
        for &(c, _) in &voted {
            if chosen.contains(&c) {
                continue;
            }
            chosen.push(c);
            let total = cost(&chosen);
            chosen.pop();
            if best.is_none_or(|(b, _)| total < b) {
                best = Some((total, c));
            }
        }
        match best {
            Some((_, c)) => chosen.push(c),
            None => break,
        }
    }
    for _ in 0..SWAP_PASSES {
        let mut improved = false;
        for slot in 0..chosen.len() {
            let mut current = cost(&chosen);
            for c in 0..candidates.len() {
                if chosen.contains(&c) {
                    continue;
                }
                let old = std::mem::replace(&mut chosen[slot], c);
                let total = cost(&chosen);
                if total < current {
                    current = total;
                    improved = true;
                } else {
                    chosen[slot] = old;
                }
            }
        }
        if !improved {
            break;
        }
    }
    // An empty or one-colour picture still needs nine registers.
    let filler = chosen.first().copied().unwrap_or(0);
    chosen.resize(k, filler);
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_colours_that_are_there() {
        let candidates: Vec<[f32; 3]> = (0..20).map(|i| [i as f32 / 20.0; 3]).collect();
        let mut votes = vec![0; 20];
        votes[3] = 100;
        votes[17] = 50;
        let chosen = choose(&candidates, &votes, 9);
        assert_eq!(chosen.len(), 9);
        assert!(chosen.contains(&3) && chosen.contains(&17));
    }

    #[test]
    fn a_flat_picture_fills_every_register() {
        let candidates: Vec<[f32; 3]> = (0..4).map(|i| [i as f32 / 4.0; 3]).collect();
        let chosen = choose(&candidates, &[0, 0, 10, 0], 9);
        assert_eq!(chosen, vec![2; 9]);
        assert_eq!(choose(&candidates, &[0; 4], 9), vec![0; 9]);
    }
}
