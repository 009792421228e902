//! The reusable converter: settings in, packets out.

use std::sync::Mutex;

use yail_proto::{GfxMode, Packet};

use crate::colour::BlendSpace;
use crate::decode::{DecodeBuffers, DecodeOptions, decode_reusing};
use crate::dither::Dither;
use crate::error::Result;
use crate::fit::Fit;
use crate::modes::{self, EncodeContext, PaletteMethod, Screen, Work};
use crate::palette::{AtariPalette, TvStandard};
use crate::picture::{Picture, PixelFormat};
use crate::resize::Fitter;

/// How to convert a picture.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Settings {
    /// The graphics mode; [`GfxMode::Random`] picks one of `random_modes` per picture.
    pub mode: GfxMode,
    /// How the picture is fitted to the screen.
    pub fit: Fit,
    /// The dithering method.
    pub dither: Dither,
    /// The space in which dithering mixes pixels.
    pub blend: BlendSpace,
    /// Which Atari palette colours are matched against.
    pub tv: TvStandard,
    /// How VBXE palettes are chosen.
    pub palette_method: PaletteMethod,
    /// The modes [`GfxMode::Random`] picks from (2 and 4 unless changed).
    pub random_modes: Vec<GfxMode>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings::new(GfxMode::Gr8)
    }
}

impl Settings {
    /// Default settings for `mode`: letterbox, Floyd–Steinberg in linear
    /// light, NTSC, Wu palettes.
    pub fn new(mode: GfxMode) -> Settings {
        Settings {
            mode,
            fit: Fit::default(),
            dither: Dither::default(),
            blend: BlendSpace::default(),
            tv: TvStandard::default(),
            palette_method: PaletteMethod::default(),
            random_modes: vec![GfxMode::Gr8, GfxMode::Gr9],
        }
    }

    /// The concrete mode to encode: `mode`, or for [`GfxMode::Random`] a
    /// random pick from `random_modes` (Graphics 8 if that holds nothing usable).
    pub fn resolve_mode(&self) -> GfxMode {
        if self.mode != GfxMode::Random {
            return self.mode;
        }
        let usable: Vec<GfxMode> = self
            .random_modes
            .iter()
            .copied()
            .filter(|m| *m != GfxMode::Random)
            .collect();
        if usable.is_empty() {
            GfxMode::Gr8
        } else {
            usable[fastrand::usize(..usable.len())]
        }
    }

    /// These settings with [`Settings::mode`] replaced.
    pub fn with_mode(&self, mode: GfxMode) -> Settings {
        Settings {
            mode,
            ..self.clone()
        }
    }
}

/// Buffers one conversion needs, kept between conversions.
#[derive(Debug, Default)]
struct Scratch {
    /// Memory for the next decoded picture (see [`Scratch::keep_decoded`]).
    decoded: DecodeBuffers,
    /// Memory for the copy [`prepared`] makes (grey modes: the luma of an
    /// RGB picture), kept up to [`KEEP_GREY_AT_MOST`].
    grey: Vec<u8>,
    fitter: Fitter,
    frame: Vec<u8>,
    work: Work,
}

/// The largest decode buffer (of each kind) a scratch set keeps: enough for
/// a 1600x1600 RGB picture. Bigger ones are rare enough to allocate each
/// time, and a server should not hold more per conversion slot.
const KEEP_DECODED_AT_MOST: usize = 8 << 20;

/// The largest grey copy a scratch set keeps: the luma of the largest
/// RGB picture whose decode buffer is kept.
const KEEP_GREY_AT_MOST: usize = KEEP_DECODED_AT_MOST / 3;

impl Scratch {
    /// Keeps a finished picture's memory for the next one, if it is the
    /// larger buffer and not too large.
    ///
    /// Otherwise every picture's pixels would be a fresh allocation, and
    /// whenever glibc has no free block that large it grows its heap, so
    /// the buffer's first writes take page faults: about 190 for a 512x512
    /// RGB PNG, some 1 ms of a 2 ms conversion.
    fn keep_decoded(&mut self, data: Vec<u8>) {
        let kept = &mut self.decoded.pixels;
        if data.capacity() > kept.capacity() && data.capacity() <= KEEP_DECODED_AT_MOST {
            *kept = data;
        }
        // A decoder may have left its own buffer here (an RGBA PNG's raw
        // rows, 4 bytes a pixel): not kept past the limit either.
        if kept.capacity() > KEEP_DECODED_AT_MOST {
            *kept = Vec::new();
        }
        // The joined compressed data is dropped when it gets that large too.
        if self.decoded.compressed.capacity() > KEEP_DECODED_AT_MOST {
            self.decoded.compressed = Vec::new();
        }
    }
}

/// Converts pictures to packets. Cheap to share: any number of threads may
/// call it at once; each call borrows a set of scratch buffers from an
/// internal pool, so steady-state conversions allocate little. The pool
/// holds one set per conversion that ran at the same time, each keeping up
/// to 16 MB of decode buffers and a grey copy of up to a third of 8 MB,
/// besides its (smaller) screen-sized ones.
#[derive(Debug, Default)]
pub struct Converter {
    decode: DecodeOptions,
    pool: Mutex<Vec<Scratch>>,
}

impl Converter {
    /// A converter with the default decoder limits.
    pub fn new() -> Converter {
        Converter::default()
    }

    /// A converter with the given decoder limits (the target size is set
    /// per conversion).
    pub fn with_decode_options(decode: DecodeOptions) -> Converter {
        Converter {
            decode,
            pool: Mutex::default(),
        }
    }

    /// The decoder limits in use.
    pub fn decode_options(&self) -> &DecodeOptions {
        &self.decode
    }

    /// Decodes a picture file and converts it. The packet's header names the
    /// mode actually encoded (a concrete mode when `settings.mode` is random).
    pub fn convert(&self, bytes: &[u8], settings: &Settings) -> Result<Packet> {
        let settings = settings.with_mode(settings.resolve_mode());
        let mut scratch = self.take_scratch();
        let result = self
            .decode_reusing(bytes, settings.mode, settings.fit, &mut scratch.decoded)
            .and_then(|picture| {
                let packet = convert_with(&picture, &settings, &mut scratch);
                scratch.keep_decoded(picture.into_data());
                packet
            });
        self.return_scratch(scratch);
        result
    }

    /// Decodes a picture file at a size suited to `mode` (large JPEGs are
    /// decoded at a reduced scale).
    pub fn decode_for(&self, bytes: &[u8], mode: GfxMode, fit: Fit) -> Result<Picture> {
        self.decode_reusing(bytes, mode, fit, &mut DecodeBuffers::default())
    }

    fn decode_reusing(
        &self,
        bytes: &[u8],
        mode: GfxMode,
        fit: Fit,
        buffers: &mut DecodeBuffers,
    ) -> Result<Picture> {
        let screen = Screen::of(mode).or(Screen::of(GfxMode::VbxeHiRes));
        let mut options = self.decode.clone();
        if let Some(screen) = screen {
            options.target = Some(decode_target(screen, fit));
        }
        decode_reusing(bytes, &options, buffers)
    }

    /// Converts a decoded picture.
    pub fn convert_picture(&self, picture: &Picture, settings: &Settings) -> Result<Packet> {
        let mut scratch = self.take_scratch();
        let result = convert_with(picture, settings, &mut scratch);
        self.return_scratch(scratch);
        result
    }

    /// The picture fitted to `mode`'s screen grid with Lanczos and no
    /// dithering: grey (Rec. 601 luma) for grey modes, RGB otherwise. This
    /// is the "ideal" that [`hvs_psnr`](crate::hvs_psnr) compares against,
    /// and a faithful preview of the framing.
    pub fn fit(&self, picture: &Picture, mode: GfxMode, fit: Fit) -> Result<Picture> {
        let screen = Screen::of(mode).ok_or(yail_proto::PacketError::NotConcrete)?;
        let source = prepared(picture, &screen, Vec::new());
        let mut frame = Vec::new();
        Fitter::default().fit(&source, fit, screen.shape, screen.grid, &mut frame)?;
        Picture::new(screen.grid.0, screen.grid.1, source.format(), frame)
    }

    fn take_scratch(&self) -> Scratch {
        // A poisoned pool only means another conversion panicked; its
        // buffers are plain memory and still usable.
        let mut pool = self.pool.lock().unwrap_or_else(|p| p.into_inner());
        pool.pop().unwrap_or_default()
    }

    fn return_scratch(&self, scratch: Scratch) {
        let mut pool = self.pool.lock().unwrap_or_else(|p| p.into_inner());
        pool.push(scratch);
    }
}

/// Converts a decoded picture with `scratch`'s buffers.
fn convert_with(picture: &Picture, settings: &Settings, scratch: &mut Scratch) -> Result<Packet> {
    let mode = settings.resolve_mode();
    let screen = Screen::of(mode).ok_or(yail_proto::PacketError::NotConcrete)?;
    let Scratch {
        grey,
        fitter,
        frame,
        work,
        ..
    } = scratch;
    let source = prepared(picture, &screen, std::mem::take(grey));
    let fitted = fitter.fit(&source, settings.fit, screen.shape, screen.grid, frame);
    if let std::borrow::Cow::Owned(copy) = source {
        let copy = copy.into_data();
        if copy.capacity() <= KEEP_GREY_AT_MOST {
            *grey = copy;
        }
    }
    fitted?;
    let ctx = EncodeContext {
        dither: settings.dither,
        blend: settings.blend,
        palette: AtariPalette::of(settings.tv),
        method: settings.palette_method,
    };
    modes::encode(mode, frame, &ctx, work)
}

/// The source in the channels the mode needs: grey modes work on luma, so
/// the (cheaper) one-channel picture is what gets resized. A grey copy is
/// made in `buffer`'s memory.
fn prepared<'a>(
    picture: &'a Picture,
    screen: &Screen,
    buffer: Vec<u8>,
) -> std::borrow::Cow<'a, Picture> {
    match (screen.grey, picture.format()) {
        (true, PixelFormat::Rgb) => std::borrow::Cow::Owned(picture.to_grey_in(buffer)),
        (false, PixelFormat::Grey) => std::borrow::Cow::Owned(picture.to_rgb()),
        _ => std::borrow::Cow::Borrowed(picture),
    }
}

/// The size a picture will be resized to, for reduced-scale JPEG decoding.
fn decode_target(screen: Screen, fit: Fit) -> crate::decode::Target {
    crate::decode::Target {
        width: screen.grid.0,
        height: screen.grid.1,
        fit,
        grey: screen.grey,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scratch_keeps_the_larger_decode_buffer_up_to_the_limit() {
        let mut scratch = Scratch::default();
        scratch.keep_decoded(Vec::with_capacity(1000));
        assert_eq!(scratch.decoded.pixels.capacity(), 1000);
        // A smaller one is dropped, the kept one stays.
        scratch.keep_decoded(Vec::with_capacity(10));
        assert_eq!(scratch.decoded.pixels.capacity(), 1000);
        scratch.keep_decoded(Vec::with_capacity(KEEP_DECODED_AT_MOST));
        assert_eq!(scratch.decoded.pixels.capacity(), KEEP_DECODED_AT_MOST);
        // Beyond the limit nothing is kept, and joined data that grew past
        // it is let go.
        scratch.decoded = DecodeBuffers {
            pixels: Vec::new(),
            compressed: Vec::with_capacity(KEEP_DECODED_AT_MOST + 1),
        };
        scratch.keep_decoded(Vec::with_capacity(KEEP_DECODED_AT_MOST + 1));
        assert_eq!(scratch.decoded.pixels.capacity(), 0);
        assert_eq!(scratch.decoded.compressed.capacity(), 0);
    }

    #[test]
    fn a_huge_buffer_a_decoder_left_behind_is_let_go() {
        // An RGBA PNG's raw rows stay in `decoded.pixels` (537 MB were
        // kept after a 134-megapixel picture before this limit).
        let mut scratch = Scratch::default();
        scratch.decoded.pixels = Vec::with_capacity(KEEP_DECODED_AT_MOST + 1);
        scratch.keep_decoded(Vec::with_capacity(10));
        assert_eq!(scratch.decoded.pixels.capacity(), 0);
    }
}
