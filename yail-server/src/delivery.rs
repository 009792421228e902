//! How a client is told something: the rule that both a session's answers
//! and the refusal of a connection follow.
//!
//! Both Atari clients print the text of an error packet, but in Graphics 8,
//! 9, 10, 11 and 15 they print it to their text screen while the graphics
//! screen is shown, so the user sees nothing happen. Only in the VBXE
//! modes is the text on screen. So in those five modes the message is
//! drawn into a picture of the mode, in exactly the shape of the mode's
//! pictures (which is what the client reads after a request), unless the
//! client asked for error packets (`errors packets`: a program such as
//! `yail fetch` that must tell a picture from an error).

use yail_core::font::{message_frame, message_packet};
use yail_proto::{ErrorDelivery, GfxMode, Packet};

/// Whether the clients show an error packet's text in `mode` (a mode
/// pictures are sent in; "random" is resolved first): only the VBXE modes.
pub(crate) fn shows_error_text(mode: GfxMode) -> bool {
    matches!(
        mode,
        GfxMode::Vbxe | GfxMode::VbxeLegacy | GfxMode::VbxeHiRes
    )
}

/// The one packet that tells the client a message.
#[derive(Debug)]
pub(crate) struct MessageAnswer {
    /// The packet's bytes.
    pub(crate) bytes: Vec<u8>,
    /// The mode in its header.
    pub(crate) mode: GfxMode,
    /// Whether the message is drawn into a picture (else: an error packet).
    pub(crate) drawn: bool,
}

/// The packet that tells a client `message`.
///
/// - `requested`: the mode the client chose (perhaps "random"); an error
///   packet carries it in its header.
/// - `shown`: the mode a picture of this answer would be in ("random"
///   resolved).
/// - `frames_only`: the mode of the 8800-byte frames the client reads
///   and nothing else at the moment (the camera's loop), whatever it asked
///   for: the message is drawn into such a frame.
pub(crate) fn message_answer(
    message: &str,
    requested: GfxMode,
    shown: GfxMode,
    delivery: ErrorDelivery,
    frames_only: Option<GfxMode>,
) -> MessageAnswer {
    let drawn = match frames_only {
        Some(mode) => {
            message_frame(mode, message).and_then(|frame| Packet::frame(mode, frame).ok())
        }
        None if delivery == ErrorDelivery::Auto && !shows_error_text(shown) => {
            message_packet(shown, message)
        }
        None => None,
    };
    match drawn {
        Some(packet) => MessageAnswer {
            bytes: packet.to_bytes(),
            mode: packet.mode(),
            drawn: true,
        },
        None => MessageAnswer {
            bytes: Packet::error(requested, message).to_bytes(),
            mode: requested,
            drawn: false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use yail_proto::{ANTIC_PAYLOAD_LEN, PacketVersion};

    fn decoded(answer: &MessageAnswer) -> Packet {
        Packet::decode(&answer.bytes).expect("a packet")
    }

    #[test]
    fn hidden_text_modes_get_a_picture_of_their_own_shape() {
        for mode in [
            GfxMode::Gr8,
            GfxMode::Gr9,
            GfxMode::Gr15,
            GfxMode::Gr11,
            GfxMode::Gr10,
        ] {
            let answer = message_answer("server busy", mode, mode, ErrorDelivery::Auto, None);
            assert!(answer.drawn, "{mode:?}");
            let packet = decoded(&answer);
            assert_eq!((packet.mode(), answer.mode), (mode, mode));
            assert_eq!(packet.error_message(), None);
            assert_eq!(
                packet.image_data().map(<[u8]>::len),
                Some(ANTIC_PAYLOAD_LEN)
            );
            let version = mode.geometry().map(|g| g.version);
            assert_eq!(Some(packet.version()), version, "{mode:?}");
        }
    }

    #[test]
    fn vbxe_modes_and_programs_get_error_packets() {
        for mode in [GfxMode::Vbxe, GfxMode::VbxeLegacy, GfxMode::VbxeHiRes] {
            let answer = message_answer("no pictures", mode, mode, ErrorDelivery::Auto, None);
            assert!(!answer.drawn);
            assert_eq!(decoded(&answer).error_message(), Some("no pictures"));
        }
        for mode in [GfxMode::Gr8, GfxMode::Gr10, GfxMode::Gr15] {
            let answer = message_answer("no pictures", mode, mode, ErrorDelivery::Packets, None);
            let packet = decoded(&answer);
            assert_eq!(packet.error_message(), Some("no pictures"), "{mode:?}");
            assert_eq!(packet.mode(), mode);
        }
    }

    #[test]
    fn random_draws_in_the_mode_picked_and_reports_errors_as_random() {
        let drawn = message_answer(
            "x",
            GfxMode::Random,
            GfxMode::Gr9,
            ErrorDelivery::Auto,
            None,
        );
        assert_eq!(decoded(&drawn).mode(), GfxMode::Gr9);
        let packet = message_answer(
            "x",
            GfxMode::Random,
            GfxMode::Vbxe,
            ErrorDelivery::Auto,
            None,
        );
        assert_eq!(decoded(&packet).mode(), GfxMode::Random);
        assert_eq!(decoded(&packet).error_message(), Some("x"));
    }

    #[test]
    fn a_frames_only_loop_gets_a_frame_even_from_a_program() {
        for delivery in ErrorDelivery::ALL {
            let answer = message_answer(
                "no camera",
                GfxMode::Vbxe,
                GfxMode::Vbxe,
                delivery,
                Some(GfxMode::Gr8),
            );
            let packet = decoded(&answer);
            assert_eq!(packet.version(), PacketVersion::V1_1);
            assert_eq!(packet.mode(), GfxMode::Gr8);
        }
    }
}
