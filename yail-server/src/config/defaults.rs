//! Every default setting, defined once: the flags (`args.rs`) show and use
//! these, and `Config::default()` is built from them, so a server started
//! without flags and a test's `Config::default()` behave alike. The
//! defaults of the guarded downloads live with the fetcher, below this
//! layer ([`crate::fetch::FetchConfig`]), and are used from there.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use yail_proto::GfxMode;

use super::search_engine::SearchEngine;

/// Address the YAIL server listens on: every interface.
pub const BIND: IpAddr = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
/// The YAIL port the clients use unless told otherwise.
pub const PORT: u16 = yail_proto::DEFAULT_PORT;
/// Seconds between two scans of `--paths`; 0: only at start.
pub const RESCAN_SECS: u64 = 0;
/// File name extensions served from `--paths`.
pub const EXTENSIONS: [&str; 6] = ["jpg", "jpeg", "png", "gif", "webp", "bmp"];
/// The modes `gfx 42` (random) picks from.
pub const RANDOM_MODES: [GfxMode; 2] = [GfxMode::Gr8, GfxMode::Gr9];
/// Converted-packet cache, in MiB.
pub const CACHE_MB: usize = 64;
/// Sessions served at once.
pub const MAX_CONNECTIONS: usize = 256;
/// Sessions from one address (IPv6: one /64) at once.
pub const MAX_PER_IP: usize = 8;
/// Silence after which a session is closed.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(300);
/// Time from a command's first byte to its end.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);
/// Time to produce the answer to one request.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Pause after which an unterminated bare-word command is complete.
pub const IDLE_FLUSH: Duration = Duration::from_millis(150);
/// Longest command accepted, in bytes.
pub const MAX_COMMAND_LEN: usize = yail_proto::DEFAULT_MAX_COMMAND_LEN;
/// Memory all conversions may use at once, in MiB.
pub const DECODE_MEMORY_MB: usize = 512;
/// Broken files `files` skips before answering with an error.
pub const FILE_RETRIES: usize = 5;
/// Space dithering mixes in (`linear` or `srgb`).
pub const DITHER_SPACE: &str = "linear";
/// The Atari's TV standard (`ntsc` or `pal`).
pub const TV: &str = "ntsc";
/// How long sessions may finish the packet in flight at shutdown.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// Log format (`text` or `json`).
pub const LOG_FORMAT: &str = "text";

/// Address of the admin page: this machine only.
pub const ADMIN_BIND: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
/// Port of the admin page.
pub const ADMIN_PORT: u16 = 5557;

/// The image search service.
pub const SEARCH_ENGINE: SearchEngine = SearchEngine::DuckDuckGo;
/// DuckDuckGo's address.
pub const SEARCH_URL: &str = "https://duckduckgo.com";
/// Minutes search results are reused for the same term.
pub const SEARCH_CACHE_MINUTES: u64 = 60;
/// Broken search results skipped before answering with an error.
pub const SEARCH_RETRIES: usize = 5;
/// First pause when the search service says "slow down".
pub const SEARCH_BACKOFF: Duration = Duration::from_secs(1);

/// Base URL of the OpenAI images API.
pub const OPENAI_BASE_URL: &str = "https://api.openai.com/v1";
/// Base URL of the Gemini API.
pub const GEMINI_BASE_URL: &str = "https://generativelanguage.googleapis.com";
/// The generation model: OpenAI's base current image model, `gpt-image-2`
/// (an Atari shows 320x240 pixels at most, so the newer and larger
/// models' detail is lost on it, while their price is not). When OpenAI
/// shuts a configured model down, the server uses the newest one its model
/// list offers instead (`services/generate/discovery.rs`).
pub const GEN_MODEL: &str = "gpt-image-2";
/// The Gemini model of `gen-gemini`: Gemini 3.1 Flash Image, the smaller
/// and cheaper of Google's two current image models
/// (<https://ai.google.dev/gemini-api/docs/deprecations> lists it with no
/// shutdown date).
pub const GEMINI_MODEL: &str = "gemini-3.1-flash-image";
/// Picture size asked of OpenAI models.
pub const GEN_SIZE: &str = "1024x1024";
/// Picture quality asked of OpenAI models.
pub const GEN_QUALITY: &str = "low";
/// Longest one generation may take.
pub const GEN_TIMEOUT: Duration = Duration::from_secs(120);
/// Generations running at once across all clients.
pub const GEN_CONCURRENCY: usize = 4;
/// Generations one client address may start per minute.
pub const GEN_PER_MINUTE: u32 = 6;
/// Pause between two snapshots of a snapshot camera.
pub const CAMERA_INTERVAL: Duration = Duration::from_millis(500);

/// Conversions at once: the number of cores (2 when it cannot be read).
pub fn workers() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}
