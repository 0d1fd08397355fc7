//! The stand-in LLM server seen from a real HTTP client (reqwest): both API
//! shapes with their real field names, counters, every fault, latency,
//! concurrency, runtime fault switching and shutdown.

use std::time::{Duration, Instant};

use lingo_devllm::{DevLlm, DevLlmOptions, Fault};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

async fn start(options: DevLlmOptions) -> DevLlm {
    DevLlm::start("127.0.0.1:0".parse().unwrap(), options).await.expect("start devllm")
}

/// Options with a latency short enough not to slow the suite down.
fn quick() -> DevLlmOptions {
    DevLlmOptions { latency: Duration::from_millis(5), ..DevLlmOptions::default() }
}

fn client() -> Client {
    Client::builder().timeout(Duration::from_secs(30)).build().unwrap()
}

/// The user message in the shape lingo's plugins send.
fn user_prompt(target: &str, text: &str) -> String {
    format!("Source language: auto\nTarget language: {target}\nText:\n{text}")
}

fn ollama_chat(target: &str, text: &str) -> Value {
    json!({
        "model": "qwen2.5:7b",
        "messages": [
            { "role": "system", "content": "You translate live-stream chat. Reply with the translation only." },
            { "role": "user", "content": user_prompt(target, text) },
        ],
        "stream": false,
        "options": { "temperature": 0 },
        "keep_alive": "5m",
    })
}

fn openai_chat(target: &str, text: &str) -> Value {
    json!({
        "model": "Qwen/Qwen2.5-7B-Instruct",
        "messages": [
            { "role": "system", "content": "You translate live-stream chat. Reply with the translation only." },
            { "role": "user", "content": user_prompt(target, text) },
        ],
        "temperature": 0.0,
        "max_tokens": 256,
    })
}

async fn post(server: &DevLlm, path: &str, body: &Value) -> reqwest::Result<reqwest::Response> {
    client().post(format!("{}{path}", server.url())).json(body).send().await
}

async fn set_faults(server: &DevLlm, body: Value) -> Value {
    let response = post(server, "/faults", &body).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

fn is_stand_in(response: &reqwest::Response) -> bool {
    response.headers().get("x-lingo-stand-in").is_some_and(|v| v == "true")
}

#[tokio::test]
async fn ollama_chat_has_ollama_fields() {
    let server = start(quick()).await;
    let response = post(&server, "/api/chat", &ollama_chat("en", "안녕하세요")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(is_stand_in(&response));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["model"], "qwen2.5:7b");
    assert!(body["created_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(body["message"], json!({ "role": "assistant", "content": "Hello" }));
    assert_eq!(body["done"], true);
    assert_eq!(body["done_reason"], "stop");
    for field in
        ["total_duration", "load_duration", "prompt_eval_count", "prompt_eval_duration", "eval_count", "eval_duration"]
    {
        assert!(body[field].is_u64(), "{field} in {body}");
    }
    assert!(body["total_duration"].as_u64().unwrap() >= 5_000_000);
}

#[tokio::test]
async fn ollama_streaming_request_gets_one_ndjson_line() {
    let server = start(quick()).await;
    let mut request = ollama_chat("ko", "lol");
    request.as_object_mut().unwrap().remove("stream");
    let response = post(&server, "/api/chat", &request).await.unwrap();
    assert_eq!(response.headers()["content-type"], "application/x-ndjson");
    let text = response.text().await.unwrap();
    assert_eq!(text.lines().count(), 1);
    assert!(text.ends_with('\n'));
    let line: Value = serde_json::from_str(text.trim_end()).unwrap();
    assert_eq!((line["done"].clone(), line["message"]["content"].clone()), (json!(true), json!("ㅋㅋㅋ")));
}

#[tokio::test]
async fn ollama_generate_and_tags() {
    let server = start(quick()).await;
    let request = json!({
        "model": "llama3.1:8b", "prompt": "Text:\nありがとう", "system": "Target language: en", "stream": false,
    });
    let body: Value = post(&server, "/api/generate", &request).await.unwrap().json().await.unwrap();
    assert_eq!(body["response"], "Thank you");
    assert_eq!((body["done"].clone(), body["done_reason"].clone()), (json!(true), json!("stop")));
    assert!(body["eval_duration"].is_u64());

    let tags: Value = client().get(format!("{}/api/tags", server.url())).send().await.unwrap().json().await.unwrap();
    let model = &tags["models"][0];
    for field in ["name", "model", "modified_at", "size", "digest", "details"] {
        assert!(!model[field].is_null(), "{field} in {tags}");
    }
}

#[tokio::test]
async fn ollama_requires_a_model_like_ollama() {
    let server = start(quick()).await;
    let response = post(&server, "/api/chat", &json!({ "messages": [], "stream": false })).await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(response.json::<Value>().await.unwrap(), json!({ "error": "model is required" }));
}

#[tokio::test]
async fn openai_chat_completion_has_openai_fields_and_keeps_chat_tokens() {
    let server = start(quick()).await;
    let text = "@kim_99 clip it 🎉 #speedrun https://clips.example/abc?t=42 at 1:23";
    let response = post(&server, "/v1/chat/completions", &openai_chat("ko", text)).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(is_stand_in(&response));
    let body: Value = response.json().await.unwrap();
    assert!(body["id"].as_str().unwrap().starts_with("chatcmpl-"));
    assert_eq!(body["object"], "chat.completion");
    assert!(body["created"].as_u64().unwrap() > 1_600_000_000);
    assert_eq!(body["model"], "Qwen/Qwen2.5-7B-Instruct");
    let choice = &body["choices"][0];
    assert_eq!(choice["index"], 0);
    assert_eq!(choice["message"], json!({ "role": "assistant", "content": format!("[ko] {text}") }));
    assert_eq!(choice["finish_reason"], "stop");
    let usage = &body["usage"];
    let (prompt, completion) = (usage["prompt_tokens"].as_u64().unwrap(), usage["completion_tokens"].as_u64().unwrap());
    assert_eq!(usage["total_tokens"].as_u64().unwrap(), prompt + completion);
}

#[tokio::test]
async fn openai_stream_is_server_sent_events() {
    let server = start(quick()).await;
    let mut request = openai_chat("ja", "hello");
    request["stream"] = json!(true);
    let response = post(&server, "/v1/chat/completions", &request).await.unwrap();
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let text = response.text().await.unwrap();
    let events: Vec<&str> = text.split("\n\n").filter(|e| !e.is_empty()).collect();
    assert_eq!(events.len(), 3);
    let first: Value = serde_json::from_str(events[0].strip_prefix("data: ").unwrap()).unwrap();
    assert_eq!(first["object"], "chat.completion.chunk");
    assert_eq!(first["choices"][0]["delta"]["content"], "こんにちは");
    assert_eq!(events[2], "data: [DONE]");
}

#[tokio::test]
async fn openai_models_lists_the_stand_in() {
    let server = start(quick()).await;
    let body: Value = client().get(format!("{}/v1/models", server.url())).send().await.unwrap().json().await.unwrap();
    assert_eq!(body["object"], "list");
    let model = &body["data"][0];
    assert_eq!((model["object"].clone(), model["owned_by"].clone()), (json!("model"), json!("lingo-devllm")));
    assert!(model["id"].is_string() && model["created"].is_u64());
}

#[tokio::test]
async fn api_key_is_enforced_with_openai_error_shape() {
    let server = start(DevLlmOptions { api_key: Some("sekrit".into()), ..quick() }).await;
    let url = format!("{}/v1/chat/completions", server.url());
    for auth in [None, Some("Bearer wrong")] {
        let mut request = client().post(&url).json(&openai_chat("en", "gg"));
        if let Some(auth) = auth {
            request = request.header("authorization", auth);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(is_stand_in(&response));
        let error = &response.json::<Value>().await.unwrap()["error"];
        assert!(error["message"].is_string() && error["type"].is_string());
        assert_eq!(error["code"], "invalid_api_key");
    }
    let ok = client().post(&url).bearer_auth("sekrit").json(&openai_chat("en", "gg")).send().await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(server.requests("/v1/chat/completions"), 3);
    let stats = client().get(format!("{}/stats", server.url())).send().await.unwrap();
    assert_eq!(stats.status(), StatusCode::OK);
}

#[tokio::test]
async fn stats_count_per_path_including_faults_and_reset() {
    let server = start(quick()).await;
    for _ in 0..3 {
        post(&server, "/v1/chat/completions", &openai_chat("en", "gg")).await.unwrap();
    }
    post(&server, "/api/chat", &ollama_chat("en", "gg")).await.unwrap();
    set_faults(&server, json!({ "fault": "status:503" })).await;
    let faulted = post(&server, "/api/chat", &ollama_chat("en", "gg")).await.unwrap();
    assert_eq!(faulted.status(), StatusCode::SERVICE_UNAVAILABLE);

    let stats: Value = client().get(format!("{}/stats", server.url())).send().await.unwrap().json().await.unwrap();
    assert_eq!(stats["stand_in"], true);
    assert_eq!(stats["requests"]["/v1/chat/completions"], 3);
    assert_eq!(stats["requests"]["/api/chat"], 2);
    assert_eq!(stats["requests"]["/api/generate"], 0);
    assert_eq!(server.requests("/api/chat"), 2);
    assert_eq!(server.requests("/faults"), 0);

    let reset: Value = post(&server, "/stats/reset", &json!({})).await.unwrap().json().await.unwrap();
    assert_eq!(reset["requests"]["/v1/chat/completions"], 0);
    assert_eq!(server.requests("/api/chat"), 0);
}

#[tokio::test]
async fn root_says_stand_in_and_unknown_paths_are_marked() {
    let server = start(quick()).await;
    let root = client().get(server.url()).send().await.unwrap();
    assert!(is_stand_in(&root));
    let text = root.text().await.unwrap();
    assert!(text.contains("stand-in") && text.contains("not a real model"), "{text}");
    let missing = client().get(format!("{}/nope", server.url())).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert!(is_stand_in(&missing));
}

#[tokio::test]
async fn status_429_carries_retry_after() {
    let fault: Fault = "status:429:2".parse().unwrap();
    let server = start(DevLlmOptions { fault, ..quick() }).await;
    let response = post(&server, "/v1/chat/completions", &openai_chat("en", "gg")).await.unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()["retry-after"], "2");
    assert!(is_stand_in(&response));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limit_exceeded");
}

#[tokio::test]
async fn status_503_defaults_to_one_second_and_other_codes_have_no_retry_after() {
    let server = start(DevLlmOptions { fault: "status:503".parse().unwrap(), ..quick() }).await;
    let response = post(&server, "/api/chat", &ollama_chat("en", "gg")).await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()["retry-after"], "1");
    assert!(response.json::<Value>().await.unwrap()["error"].is_string(), "Ollama's error shape");

    set_faults(&server, json!({ "fault": "status:500" })).await;
    let response = post(&server, "/v1/chat/completions", &openai_chat("en", "gg")).await.unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(response.headers().get("retry-after").is_none());
}

#[tokio::test]
async fn malformed_json_does_not_parse() {
    let server = start(DevLlmOptions { fault: Fault::MalformedJson, ..quick() }).await;
    for (path, body) in [("/v1/chat/completions", openai_chat("en", "gg")), ("/api/chat", ollama_chat("en", "gg"))] {
        let response = post(&server, path, &body).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let text = response.text().await.unwrap();
        assert!(serde_json::from_str::<Value>(&text).is_err(), "{path} answered valid JSON: {text}");
    }
    let response = post(&server, "/v1/chat/completions", &openai_chat("en", "gg")).await.unwrap();
    let err = response.json::<Value>().await.unwrap_err();
    assert!(err.is_decode(), "{err}");
}

#[tokio::test]
async fn dropped_connection_is_an_error_not_a_response() {
    let server = start(DevLlmOptions { fault: Fault::DropConnection, ..quick() }).await;
    let client = client();
    let url = format!("{}/v1/chat/completions", server.url());
    let err = client.post(&url).json(&openai_chat("en", "gg")).send().await.unwrap_err();
    assert!(!err.is_timeout() && !err.is_status(), "{err:?}");
    assert!(err.is_request() || err.is_connect() || err.is_body(), "{err:?}");
    assert_eq!(server.requests("/v1/chat/completions"), 1);

    // The same client recovers once the fault is lifted.
    set_faults(&server, json!({ "fault": "none" })).await;
    let ok = client.post(&url).json(&openai_chat("en", "gg")).send().await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
}

#[tokio::test]
async fn latency_is_applied() {
    let latency = Duration::from_millis(300);
    let server = start(DevLlmOptions { latency, ..DevLlmOptions::default() }).await;
    let started = Instant::now();
    let response = post(&server, "/v1/chat/completions", &openai_chat("en", "gg")).await.unwrap();
    let elapsed = started.elapsed();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(elapsed >= latency, "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
}

#[tokio::test]
async fn slow_fault_adds_its_delay_then_answers() {
    let slow = DevLlmOptions { latency: Duration::ZERO, fault: "slow:300ms".parse().unwrap(), ..quick() };
    let server = start(slow).await;
    let started = Instant::now();
    let response = post(&server, "/api/chat", &ollama_chat("en", "ㅋㅋㅋ")).await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(response.json::<Value>().await.unwrap()["message"]["content"], "lol");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_requests_take_about_one_latency() {
    let server = start(DevLlmOptions { latency: Duration::from_millis(200), ..DevLlmOptions::default() }).await;
    let client = client();
    let url = format!("{}/v1/chat/completions", server.url());
    let started = Instant::now();
    let requests = (0..200).map(|i| {
        let request = client.post(&url).json(&openai_chat("ko", &format!("message {i}")));
        tokio::spawn(async move { request.send().await.map(|r| r.status()) })
    });
    let requests: Vec<_> = requests.collect();
    for request in requests {
        assert_eq!(request.await.unwrap().unwrap(), StatusCode::OK);
    }
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(200) && elapsed < Duration::from_secs(5), "{elapsed:?}");
    assert_eq!(server.requests("/v1/chat/completions"), 200);
}

/// Which of `n` sequential requests failed.
async fn failure_pattern(server: &DevLlm, n: usize) -> Vec<bool> {
    let mut pattern = Vec::new();
    for _ in 0..n {
        let response = post(server, "/v1/chat/completions", &openai_chat("en", "gg")).await.unwrap();
        pattern.push(response.status() != StatusCode::OK);
    }
    pattern
}

#[tokio::test]
async fn fail_rate_is_a_deterministic_fraction() {
    let options = DevLlmOptions { fault: "status:503".parse().unwrap(), fail_rate: 0.5, seed: 3, ..quick() };
    let first = failure_pattern(&start(options.clone()).await, 40).await;
    let second = failure_pattern(&start(options).await, 40).await;
    assert_eq!(first, second);
    let failed = first.iter().filter(|f| **f).count();
    assert!((8..=32).contains(&failed), "{failed} of 40");

    let never = DevLlmOptions { fault: "status:503".parse().unwrap(), fail_rate: 0.0, ..quick() };
    assert!(failure_pattern(&start(never).await, 10).await.iter().all(|f| !f));
}

#[tokio::test]
async fn faults_switch_at_runtime() {
    let server = start(quick()).await;
    let url = format!("{}/v1/chat/completions", server.url());
    let status = || async { client().post(&url).json(&openai_chat("en", "hi")).send().await.map(|r| r.status()) };
    assert_eq!(status().await.unwrap(), StatusCode::OK);

    let settings = set_faults(&server, json!({ "fault": "status:503", "latency_ms": 1 })).await;
    assert_eq!(
        settings,
        json!({ "fault": "status:503:1", "fail_rate": 1.0, "latency_ms": 1, "jitter_ms": 0, "seed": 1 })
    );
    assert_eq!(status().await.unwrap(), StatusCode::SERVICE_UNAVAILABLE);

    set_faults(&server, json!({ "fault": "drop" })).await;
    assert!(status().await.is_err());

    set_faults(&server, json!({ "fault": "malformed", "fail_rate": 0.5 })).await;
    let first = failure_body_pattern(&server, 20).await;
    set_faults(&server, json!({ "fail_rate": 0.5 })).await;
    assert_eq!(failure_body_pattern(&server, 20).await, first, "a change restarts the sequence");
    assert!(first.contains(&true) && first.contains(&false), "{first:?}");

    set_faults(&server, json!({ "fault": "none" })).await;
    assert_eq!(status().await.unwrap(), StatusCode::OK);
    let shown: Value = client().get(format!("{}/faults", server.url())).send().await.unwrap().json().await.unwrap();
    assert_eq!(shown["fault"], "none");

    let rejected = post(&server, "/faults", &json!({ "fault": "explode" })).await.unwrap();
    assert_eq!(rejected.status(), StatusCode::BAD_REQUEST);
    assert!(rejected.json::<Value>().await.unwrap()["error"].as_str().unwrap().contains("explode"));
}

/// Which of `n` sequential requests got a body that is not JSON.
async fn failure_body_pattern(server: &DevLlm, n: usize) -> Vec<bool> {
    let mut pattern = Vec::new();
    for _ in 0..n {
        let response = post(server, "/v1/chat/completions", &openai_chat("en", "gg")).await.unwrap();
        pattern.push(response.json::<Value>().await.is_err());
    }
    pattern
}

#[tokio::test]
async fn shutdown_cuts_pending_latency_short() {
    let server = start(DevLlmOptions { latency: Duration::from_secs(30), ..DevLlmOptions::default() }).await;
    let url = format!("{}/api/chat", server.url());
    let pending = tokio::spawn(async move { client().post(url).json(&ollama_chat("en", "gg")).send().await });
    while server.requests("/api/chat") == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let started = Instant::now();
    server.shutdown().await;
    assert!(started.elapsed() < Duration::from_secs(5));
    let response = pending.await.unwrap().unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn serve_runs_until_its_shutdown_future() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1/models", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let shutdown = async move {
        let _ = stopped.await;
    };
    let server = tokio::spawn(lingo_devllm::serve(listener, quick(), shutdown));
    assert_eq!(client().get(&url).send().await.unwrap().status(), StatusCode::OK);
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), server).await.unwrap().unwrap().unwrap();
}

#[tokio::test]
async fn bad_options_are_refused() {
    let err =
        DevLlm::start("127.0.0.1:0".parse().unwrap(), DevLlmOptions { fail_rate: 1.5, ..quick() }).await.unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("1.5"), "{err}");
}
