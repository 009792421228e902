//! Where a picture goes on the Atari screen: letterbox, crop or stretch.

/// How a picture is fitted to the screen shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Fit {
    /// Scale to fit entirely, centred on black bars (the default).
    #[default]
    Letterbox,
    /// Scale to fill the screen, cutting off what sticks out (centred).
    Crop,
    /// Scale each axis separately to fill the screen exactly.
    Stretch,
}

impl std::str::FromStr for Fit {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "letterbox" | "fit" => Ok(Fit::Letterbox),
            "crop" | "fill" => Ok(Fit::Crop),
            "stretch" => Ok(Fit::Stretch),
            _ => Err(format!(
                "unknown fit {s:?} (expected letterbox, crop or stretch)"
            )),
        }
    }
}

/// The source region to read and the grid rectangle to draw it in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Placement {
    /// Left, top, width, height in source pixels.
    pub src: [f64; 4],
    /// Left, top, width, height in grid pixels (never empty).
    pub dst: [u32; 4],
}

/// Places a `src` picture on a screen of shape `shape` whose pixel grid is
/// `grid` (the grid may be wider than the shape: VBXE hi-res has 640
/// columns on a 320-wide screen shape).
pub(crate) fn place(src: (u32, u32), shape: (u32, u32), grid: (u32, u32), fit: Fit) -> Placement {
    let (sw, sh) = (f64::from(src.0), f64::from(src.1));
    let (fw, fh) = (f64::from(shape.0), f64::from(shape.1));
    let (gx, gy) = (f64::from(grid.0) / fw, f64::from(grid.1) / fh);
    let full_src = [0.0, 0.0, sw, sh];
    let (src_rect, w, h) = match fit {
        Fit::Stretch => (full_src, fw, fh),
        Fit::Letterbox => {
            let scale = (fw / sw).min(fh / sh);
            (full_src, sw * scale, sh * scale)
        }
        Fit::Crop => {
            let scale = (fw / sw).max(fh / sh);
            let (cw, ch) = (fw / scale, fh / scale);
            ([(sw - cw) / 2.0, (sh - ch) / 2.0, cw, ch], fw, fh)
        }
    };
    let round = |v: f64, max: u32| (v.round() as u32).clamp(1, max);
    let dw = round(w * gx, grid.0);
    let dh = round(h * gy, grid.1);
    Placement {
        src: src_rect,
        dst: [(grid.0 - dw) / 2, (grid.1 - dh) / 2, dw, dh],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letterbox_centres_and_keeps_aspect() {
        // A square photo on the 320x220 screen: 220x220, centred.
        let p = place((512, 512), (320, 220), (320, 220), Fit::Letterbox);
        assert_eq!(p.dst, [50, 0, 220, 220]);
        // A wide panorama: full width, bars above and below.
        let p = place((1000, 100), (320, 220), (320, 220), Fit::Letterbox);
        assert_eq!(p.dst, [0, 94, 320, 32]);
        // VBXE hi-res: the 320x240 shape on a 640-column grid.
        let p = place((512, 512), (320, 240), (640, 240), Fit::Letterbox);
        assert_eq!(p.dst, [80, 0, 480, 240]);
    }

    #[test]
    fn crop_reads_the_centre() {
        let p = place((440, 220), (320, 220), (320, 220), Fit::Crop);
        assert_eq!(p.dst, [0, 0, 320, 220]);
        assert_eq!(p.src, [60.0, 0.0, 320.0, 220.0]);
    }

    #[test]
    fn tiny_and_extreme_pictures_get_at_least_one_pixel() {
        let p = place((5000, 1), (320, 220), (320, 220), Fit::Letterbox);
        assert_eq!(p.dst, [0, 109, 320, 1]);
        let p = place((1, 1), (320, 220), (320, 220), Fit::Stretch);
        assert_eq!(p.dst, [0, 0, 320, 220]);
    }
}
