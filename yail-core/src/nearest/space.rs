//! The searched part of the colour cube and the warped axis along which
//! both searches space their cells evenly.

/// The range searched; values beyond are searched as if clamped.
pub(super) const DOMAIN: (f32, f32) = (-0.25, 1.25);
/// The warped (signed square root) domain.
pub(super) const WARPED: (f32, f32) = (-0.5, 1.118_034);

#[inline]
pub(super) fn clamped(value: [f32; 3]) -> [f32; 3] {
    value.map(|v| v.clamp(DOMAIN.0, DOMAIN.1))
}

/// The signed square root: the axis along which cells are evenly spaced.
#[inline]
pub(super) fn warp(v: f32) -> f32 {
    v.abs().sqrt().copysign(v)
}
