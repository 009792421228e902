//! Exact bytes of every packet kind and mode.

use yail_proto::{Block, GfxMode, Packet};

/// Header and block headers of an image packet, with the payload elided.
fn head_and_tail(packet: &Packet, head: usize) -> (Vec<u8>, usize) {
    let bytes = packet.to_bytes();
    assert_eq!(bytes.len(), packet.encoded_len());
    (bytes[..head].to_vec(), bytes.len())
}

#[test]
fn v1_1_modes() {
    for (mode, gfx) in [
        (GfxMode::Gr8, 0x02),
        (GfxMode::Gr9, 0x04),
        (GfxMode::Gr15, 0x06),
        (GfxMode::Gr11, 0x08),
    ] {
        let pixels: Vec<u8> = (0..8800u32).map(|i| (i % 251) as u8).collect();
        let packet = Packet::image(mode, Vec::new(), pixels.clone()).unwrap();
        let bytes = packet.to_bytes();
        assert_eq!(
            &bytes[..7],
            &[0x01, 0x01, 0x00, gfx, 0x03, 0x60, 0x22],
            "{mode}"
        );
        assert_eq!(&bytes[7..], &pixels[..], "{mode}");
    }
}

#[test]
fn graphics_10_palette_then_image() {
    let palette = vec![0x00, 0x16, 0x28, 0x3A, 0x4C, 0x5E, 0x60, 0x72, 0x84];
    let packet = Packet::image(GfxMode::Gr10, palette, vec![0x88; 8800]).unwrap();
    let (head, len) = head_and_tail(&packet, 5 + 5 + 9 + 5 + 1);
    assert_eq!(
        head,
        [
            0x01, 0x04, 0x00, 0x0A, // v1.4, gfx 10
            0x02, // two blocks
            0x06, 0x09, 0x00, 0x00, 0x00, // palette, 9 bytes
            0x00, 0x16, 0x28, 0x3A, 0x4C, 0x5E, 0x60, 0x72, 0x84, //
            0x07, 0x60, 0x22, 0x00, 0x00, // image, 8800 bytes
            0x88,
        ]
    );
    assert_eq!(len, 5 + 5 + 9 + 5 + 8800);
}

#[test]
fn vbxe_modes() {
    for (mode, gfx, entries, pixel) in [
        (GfxMode::Vbxe, 0x10, 256usize, 0xFF),
        (GfxMode::VbxeLegacy, 0x11, 2, 0x01),
        (GfxMode::VbxeHiRes, 0x12, 16, 0xF1),
    ] {
        let mut palette = vec![0u8; entries * 3];
        palette[3..6].copy_from_slice(&[0xFE, 0x80, 0x02]);
        let pal_len = (entries * 3) as u32;
        let packet = Packet::image(mode, palette.clone(), vec![pixel; 76_800]).unwrap();
        let bytes = packet.to_bytes();
        let mut expected = vec![0x01, 0x04, 0x00, gfx, 0x02, 0x06];
        expected.extend_from_slice(&pal_len.to_le_bytes());
        expected.extend_from_slice(&palette);
        expected.extend_from_slice(&[0x07, 0x00, 0x2C, 0x01, 0x00]); // 76800
        assert_eq!(&bytes[..expected.len()], &expected[..], "{mode}");
        assert_eq!(bytes.len(), expected.len() + 76_800, "{mode}");
        assert!(bytes[expected.len()..].iter().all(|&b| b == pixel));
    }
}

#[test]
fn error_and_display_list_blocks() {
    assert_eq!(
        Packet::error(GfxMode::VbxeLegacy, "busy").to_bytes(),
        [
            0x01, 0x04, 0x00, 0x11, 0x01, 0xFF, 0x04, 0x00, 0x00, 0x00, b'b', b'u', b's', b'y'
        ]
    );
    let packet = Packet::blocks(
        GfxMode::Gr8,
        vec![Block::DisplayList(vec![0x70, 0x41]), Block::Xdl(vec![0x24])],
    )
    .unwrap();
    assert_eq!(
        packet.to_bytes(),
        [
            0x01, 0x04, 0x00, 0x02, 0x02, // header, two blocks
            0x04, 0x02, 0x00, 0x00, 0x00, 0x70, 0x41, // display list
            0x05, 0x01, 0x00, 0x00, 0x00, 0x24, // XDL
        ]
    );
    assert_eq!(
        Packet::blocks(GfxMode::Gr8, Vec::new()).unwrap().to_bytes(),
        [0x01, 0x04, 0x00, 0x02, 0x00]
    );
}
