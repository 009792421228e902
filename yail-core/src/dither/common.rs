//! What both Floyd–Steinberg loops (float and fixed point) share: how far
//! values may overshoot, and how the rows split into bands.

/// How far past 0..1 a value plus its diffused error may go. Some overshoot
/// lets saturated colours borrow from neighbours (VBXE gains about 1.5 dB);
/// a bound stops unreachable targets from piling up error without end.
pub(super) const OVERSHOOT: f32 = 0.2;

/// Bands dithered side by side.
pub(super) const BANDS: usize = 2;

/// First row of each band (even), and the height at the end.
pub(super) fn band_starts(height: usize) -> [usize; BANDS + 1] {
    std::array::from_fn(|b| {
        if b == BANDS {
            height
        } else {
            (b * height / BANDS) & !1
        }
    })
}
