//! A one-line text input (file name, colour modes, marker, filter).

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// What the prompt asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromptKind {
    /// `s`: a file name.
    Save,
    /// `c`: the colour modes of the search view.
    Color,
    /// `m`: the marker of the search view.
    Marker,
    /// `f` or `/`: the search filters (re-runs the search).
    Filter,
}

impl PromptKind {
    /// The question shown before the input.
    pub fn label(self) -> &'static str {
        match self {
            PromptKind::Save => "Save file name? ",
            PromptKind::Color => "Color mode? ",
            PromptKind::Marker => "Marker? ",
            PromptKind::Filter => "Filter? ",
        }
    }
}

/// The input state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    /// What it asks for.
    pub kind: PromptKind,
    /// The text typed so far.
    pub text: String,
    /// Cursor position in chars.
    pub cursor: usize,
}

/// What a key did to the prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PromptResult {
    /// Still editing.
    Editing,
    /// Enter: the text.
    Submit(String),
    /// Esc: nothing.
    Cancel,
}

/// Longest input accepted.
const MAX_CHARS: usize = 1024;

impl Prompt {
    /// A prompt with `text` prefilled, the cursor at its end.
    pub fn new(kind: PromptKind, text: &str) -> Self {
        Prompt { kind, text: text.to_string(), cursor: text.chars().count() }
    }

    fn byte_at(&self, c: usize) -> usize {
        self.text.char_indices().nth(c).map_or(self.text.len(), |(i, _)| i)
    }

    /// Applies a key.
    pub fn key(&mut self, k: KeyEvent) -> PromptResult {
        let n = self.text.chars().count();
        match k.code {
            KeyCode::Enter => return PromptResult::Submit(self.text.clone()),
            KeyCode::Esc => return PromptResult::Cancel,
            KeyCode::Char('u') if k.modifiers.contains(KeyModifiers::CONTROL) => {
                self.text.clear();
                self.cursor = 0;
            }
            KeyCode::Char(c) if !k.modifiers.contains(KeyModifiers::CONTROL) && n < MAX_CHARS => {
                let at = self.byte_at(self.cursor);
                self.text.insert(at, c);
                self.cursor += 1;
            }
            KeyCode::Backspace if self.cursor > 0 => {
                self.cursor -= 1;
                let at = self.byte_at(self.cursor);
                self.text.remove(at);
            }
            KeyCode::Delete if self.cursor < n => {
                let at = self.byte_at(self.cursor);
                self.text.remove(at);
            }
            KeyCode::Left => self.cursor = self.cursor.saturating_sub(1),
            KeyCode::Right => self.cursor = (self.cursor + 1).min(n),
            KeyCode::Home => self.cursor = 0,
            KeyCode::End => self.cursor = n,
            _ => {}
        }
        PromptResult::Editing
    }
}
