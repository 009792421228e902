//! Where pictures come from besides the server's own files.

pub(crate) mod body;
pub(crate) mod camera;
pub(crate) mod generate;
pub(crate) mod mjpeg;
