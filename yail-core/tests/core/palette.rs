//! The generated palettes against the Altirra emulator's tables.

use yail_core::{PaletteModel, TvStandard};

fn reference(name: &str) -> Vec<[u8; 3]> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name);
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(bytes.len(), 768, "256 RGB entries");
    bytes.chunks_exact(3).map(|c| [c[0], c[1], c[2]]).collect()
}

/// (largest channel error, mean channel error, largest error on greys).
fn errors(model: &PaletteModel, table: &[[u8; 3]]) -> (u8, f64, u8) {
    let (mut max, mut sum, mut grey_max) = (0u8, 0u64, 0u8);
    for colour in 0..=255u8 {
        let ours = model.rgb(colour);
        let theirs = table[usize::from(colour)];
        for k in 0..3 {
            let e = ours[k].abs_diff(theirs[k]);
            max = max.max(e);
            sum += u64::from(e);
            if colour >> 4 == 0 {
                grey_max = grey_max.max(e);
            }
        }
    }
    (max, sum as f64 / 768.0, grey_max)
}

#[test]
fn palette_model_matches_reference_tables() {
    let (max, mean, greys) = errors(&PaletteModel::NTSC, &reference("altirra_ntsc_xl.pal"));
    assert!(
        max <= 21 && mean <= 2.2 && greys <= 4,
        "NTSC: max {max}, mean {mean:.2}, greys {greys}"
    );
    let (max, mean, greys) = errors(&PaletteModel::PAL, &reference("altirra_pal_xl.pal"));
    assert!(
        max <= 4 && mean <= 0.7 && greys <= 4,
        "PAL: max {max}, mean {mean:.2}, greys {greys}"
    );
}

#[test]
fn the_tables_in_use_are_the_models() {
    for (tv, model) in [
        (TvStandard::Ntsc, PaletteModel::NTSC),
        (TvStandard::Pal, PaletteModel::PAL),
    ] {
        let palette = yail_core::AtariPalette::of(tv);
        for colour in 0..=255u8 {
            assert_eq!(
                palette.rgb(colour),
                model.rgb(colour),
                "{tv:?} {colour:#04x}"
            );
        }
    }
}
