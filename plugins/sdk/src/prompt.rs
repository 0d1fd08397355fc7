//! The translation prompt the LLM stages share: one place to tune it.

/// The system message: translate only, keep what chat readers rely on.
pub const SYSTEM: &str = "You translate live-stream chat messages. \
Translate the text into the target language and reply with the translation only, \
without quotes, notes or explanations. Keep @mentions, #hashtags, emoji, URLs, \
numbers and markers like ⟦0⟧ exactly as they appear. Keep the tone and slang of chat.";

/// The user message for one line: languages on their own lines, then the text.
pub fn user_message(text: &str, source: Option<&str>, target: &str) -> String {
    let source = source.unwrap_or("auto-detect");
    format!("Source language: {source}\nTarget language: {target}\nText:\n{text}")
}

/// Both messages in one prompt, for completion-style APIs.
pub fn single_prompt(text: &str, source: Option<&str>, target: &str) -> String {
    format!("{SYSTEM}\n\n{}", user_message(text, source, target))
}
