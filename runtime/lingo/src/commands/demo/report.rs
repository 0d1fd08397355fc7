//! One request of the burst, and the summary a person reads at the end.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// What one chat line got back.
pub struct Outcome {
    text: String,
    status: u16,
    body: Value,
    latency: Duration,
}

impl Outcome {
    pub fn ok(&self) -> bool {
        self.status == 200
    }

    /// Whether a stage kept the line for every language (`detect:laughter`).
    fn kept_whole(&self) -> bool {
        let providers = self.body["providers"].as_object();
        providers.is_some_and(|p| p.values().all(|v| v.as_str().is_some_and(|v| v.contains(':'))))
    }
}

/// Sends `line` to every language of the audience, with its channel.
pub async fn send(client: &reqwest::Client, url: &str, line: lingo_chat::Line) -> Outcome {
    let started = Instant::now();
    let text = line.text;
    let body = json!({ "text": text, "targetLanguages": lingo_chat::AUDIENCE, "channel": line.channel });
    let (status, body) = match client.post(url).json(&body).send().await {
        Ok(response) => (response.status().as_u16(), response.json().await.unwrap_or(Value::Null)),
        Err(err) => (0, json!({ "error": { "message": err.to_string() } })),
    };
    Outcome { text, status, body, latency: started.elapsed() }
}

/// Prints a sample of lines and their translations, then the summary.
pub fn print(outcomes: &[Outcome], elapsed: Duration, llm_requests: Option<u64>) {
    println!("\nA sample of the chat and its translations:\n");
    let mut seen = std::collections::HashSet::new();
    let distinct: Vec<&Outcome> = outcomes.iter().filter(|o| seen.insert(o.text.clone())).collect();
    // Mostly lines a model translated, then a few it was never asked about.
    let (kept, translated): (Vec<&Outcome>, Vec<&Outcome>) = distinct.into_iter().partition(|o| o.kept_whole());
    for outcome in translated.into_iter().take(7).chain(kept.into_iter().take(3)) {
        println!("  {}", outcome.text);
        match outcome.body["translations"].as_object() {
            Some(translations) => {
                for (lang, text) in translations {
                    let provider = outcome.body["providers"][lang].as_str().unwrap_or("?");
                    println!("    {lang}: {}  ({provider})", text.as_str().unwrap_or_default());
                }
            }
            None => println!("    error {}: {}", outcome.status, outcome.body["error"]["message"]),
        }
    }
    let ok = outcomes.iter().filter(|o| o.ok()).count();
    let mut latencies: Vec<Duration> = outcomes.iter().map(|o| o.latency).collect();
    latencies.sort();
    let pct = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize].as_secs_f64() * 1000.0;
    let mut providers: BTreeMap<String, usize> = BTreeMap::new();
    for outcome in outcomes {
        if let Some(map) = outcome.body["providers"].as_object() {
            for provider in map.values() {
                *providers.entry(provider.as_str().unwrap_or("?").to_string()).or_default() += 1;
            }
        }
    }
    let units: usize = providers.values().sum();
    let cached = providers.get("cache").copied().unwrap_or(0);
    // A stage that kept the line says why: `detect:laughter`.
    let kept: Vec<(&str, usize)> = providers.iter().filter_map(|(p, n)| Some((p.split_once(':')?.1, *n))).collect();
    let kept_total: usize = kept.iter().map(|(_, n)| n).sum();
    println!("\nSummary");
    println!("  requests        {} ({ok} answered 200)", outcomes.len());
    println!("  latency         p50 {:.0} ms, p99 {:.0} ms", pct(0.50), pct(0.99));
    println!(
        "  throughput      {:.1} jobs/s over {:.1} s",
        outcomes.len() as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64()
    );
    println!(
        "  translations    {units} ({})",
        providers.iter().map(|(p, n)| format!("{p}: {n}")).collect::<Vec<_>>().join(", ")
    );
    println!("  cache hit ratio {:.0} %", 100.0 * cached as f64 / units.max(1) as f64);
    println!(
        "  without an LLM  {} of {units} translations: {kept_total} needed none ({}), {cached} from the cache",
        kept_total + cached,
        kept.iter().map(|(why, n)| format!("{why} {n}")).collect::<Vec<_>>().join(", ")
    );
    if let Some(requests) = llm_requests {
        let from_llm = units - cached - kept_total;
        println!(
            "  LLM requests    {requests} for {from_llm} translations from the LLM stages ({} coalesced in flight)",
            from_llm.saturating_sub(requests as usize)
        );
    }
    if cfg!(debug_assertions) {
        println!(
            "  (an unoptimised build, as `make demo` makes for a quick start: `make bench` measures the release build)"
        );
    }
}
