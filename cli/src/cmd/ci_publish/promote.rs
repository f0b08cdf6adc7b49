//! Moving the job's channel to its release, saying first what changes for the people on it.

use platform::api::{Channel, ChannelHistory};
use platform::diff::{ReleaseDiff, describe};
use platform::{AppSlug, ChannelName};

use super::doc::ChannelDoc;
use crate::client::{Api, ApiError};
use crate::ui::Ui;

/// Points `channel` at `release_id`; the flag says whether it moved. When it already points
/// there (a re-run), reports the move that put it there, from the channel's history, so the
/// JSON is the same.
pub(super) async fn promote(
    api: &Api,
    app: &AppSlug,
    channel: &ChannelName,
    release_id: &str,
    allow_downgrade: bool,
    share_url: String,
    ui: &Ui,
) -> Result<(ChannelDoc, bool), ApiError> {
    match api
        .get::<Channel>(&["apps", app.as_str(), "channels", channel.as_str()])
        .await
    {
        Ok(c) if c.release_id.as_deref() == Some(release_id) => {
            let history: Result<ChannelHistory, _> = api
                .get(&[
                    "apps",
                    app.as_str(),
                    "channels",
                    channel.as_str(),
                    "history",
                ])
                .await;
            let previous = history.ok().and_then(|h| {
                h.history
                    .iter()
                    .filter(|e| e.to_release_id.as_deref() == Some(release_id))
                    .max_by_key(|e| e.seq)
                    .and_then(|e| e.from_release_id.as_ref().map(|r| r.to_string()))
            });
            return Ok((
                ChannelDoc {
                    name: channel.clone(),
                    release_id: release_id.to_owned(),
                    previous_release_id: previous,
                    share_url,
                },
                false,
            ));
        }
        Ok(c) => {
            // Before moving the channel, say what changes for the people on it.
            if let Some(cur) = c.release_id.as_deref()
                && let Ok(d) = api
                    .get::<ReleaseDiff>(&["releases", cur, "diff", release_id])
                    .await
            {
                let lines: Vec<String> = d.platforms.iter().flat_map(describe).collect();
                if !lines.is_empty() {
                    ui.note(&format!("changes from {cur} (now on {channel}):"));
                    for l in &lines {
                        ui.note(&format!("  {l}"));
                    }
                }
            }
        }
        // A new channel, or a token that may promote but not read: just promote.
        Err(ApiError::Status {
            status: 404 | 403, ..
        }) => {}
        Err(e) => return Err(e),
    }
    let id = release_id.parse().map_err(|e: platform::InvalidValue| {
        ApiError::Protocol(format!(
            "the server named a release id that is not one: {e}"
        ))
    })?;
    let moved = crate::cmd::channel::promote(api, app, channel, id, allow_downgrade).await?;
    Ok((
        ChannelDoc {
            name: channel.clone(),
            release_id: moved
                .channel
                .release_id
                .map_or_else(|| release_id.to_owned(), |r| r.to_string()),
            previous_release_id: moved.previous_release_id.map(|r| r.to_string()),
            share_url,
        },
        true,
    ))
}
