//! Reading HTTP bodies with a bound.

/// Reads a response body of at most `limit` bytes, failing as soon as more
/// arrive (reqwest has no limit of its own).
pub(crate) async fn read_limited(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, String> {
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(format!("answer larger than {} bytes", limit));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| e.without_url().to_string())?
    {
        if body.len() + chunk.len() > limit {
            return Err(format!("answer larger than {} bytes", limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
