//! `lingo reload` and `lingo status`: ask a running worker through its admin
//! endpoints (`worker.admin_listen`).

use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::Context;

/// `POST /reload`: prints what was applied, or why the config was refused.
pub async fn reload(admin: SocketAddr, token: Option<&str>) -> anyhow::Result<ExitCode> {
    let mut request = reqwest::Client::new().post(format!("http://{admin}/reload"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.with_context(|| {
        format!("no lingo worker answers at {admin} (its `worker.admin_listen`); or send it SIGHUP")
    })?;
    let ok = response.status().is_success();
    let body: serde_json::Value = response.json().await.context("reading the worker's answer")?;
    if ok {
        println!("reloaded: {}", body["tenants"]);
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("reload refused; the running config stays:\n{}", body["error"]["message"].as_str().unwrap_or("?"));
        Ok(ExitCode::FAILURE)
    }
}

/// `GET /healthz`, pretty-printed.
pub async fn status(admin: SocketAddr) -> anyhow::Result<ExitCode> {
    let response = reqwest::get(format!("http://{admin}/healthz"))
        .await
        .with_context(|| format!("no lingo worker answers at {admin} (its `worker.admin_listen`)"))?;
    let ok = response.status().is_success();
    let body: serde_json::Value = response.json().await.context("reading the worker's answer")?;
    println!("{}", serde_json::to_string_pretty(&body)?);
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
