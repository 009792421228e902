//! Every graphics mode value, as served.

use yail_proto::{GfxMode, PacketVersion};
use yail_tests::{TestServer, test_config};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_mode_has_its_exact_layout() {
    let server = TestServer::start(test_config()).await;
    let mut atari = server.client().await;
    for mode in GfxMode::ALL {
        let packet = atari
            .request(&format!("gfx {} files", u8::from(mode)))
            .await
            .unwrap();
        assert_eq!(packet.error_message(), None, "mode {mode}");
        let shown = packet.mode();
        if mode == GfxMode::Random {
            assert!(
                [GfxMode::Gr8, GfxMode::Gr9].contains(&shown),
                "random gave {shown}"
            );
        } else {
            assert_eq!(shown, mode, "the header names the mode encoded");
        }
        let geometry = shown.geometry().expect("concrete");
        assert_eq!(
            packet.image_data().map(<[u8]>::len),
            Some(geometry.payload_len()),
            "{shown}"
        );
        assert_eq!(packet.version(), geometry.version, "{shown}");
        if geometry.version == PacketVersion::V1_4 {
            let palette = packet.palette().expect("v1.4 images carry a palette");
            match shown {
                GfxMode::Gr10 => assert_eq!(palette.len(), 9),
                GfxMode::VbxeHiRes => assert!(palette.len() <= 48 && palette.len() % 3 == 0),
                _ => assert!(palette.len() <= 768 && palette.len() % 3 == 0),
            }
            if shown != GfxMode::Gr10 {
                assert_eq!(&palette[..3], &[0, 0, 0], "entry 0 stays black");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_mode_uses_the_configured_set() {
    let config = yail_server::Config {
        random_modes: vec![GfxMode::Gr15],
        ..test_config()
    };
    let server = TestServer::start(config).await;
    let mut atari = server.client().await;
    for command in ["gfx 42 files", "next", "next"] {
        assert_eq!(atari.request(command).await.unwrap().mode(), GfxMode::Gr15);
    }
}
