//! The LLM price table: USD per million tokens, per model and token type.
//!
//! Read from the TOML file named by `LLM_PRICES` (see [`MetricsConfig`](super::MetricsConfig))
//! or from a string with [`PriceTable::from_toml_str`]:
//!
//! ```
//! use megaobs::metrics::{PriceTable, GenAiTokenType};
//!
//! let prices = PriceTable::from_toml_str(r#"
//!     [models."gpt-4o"]
//!     input = 2.5
//!     cached_input = 1.25
//!     output = 10.0
//!
//!     [models."claude-3-haiku"]
//!     input = 0.25
//!     output = 1.25
//! "#)?;
//! let gpt = prices.get("gpt-4o").unwrap();
//! assert_eq!(gpt.per_million(GenAiTokenType::Reasoning), 10.0); // defaults to output
//! let haiku = prices.get("claude-3-haiku").unwrap();
//! assert_eq!(haiku.per_million(GenAiTokenType::CachedInput), 0.25); // defaults to input
//! assert!(prices.get("gpt-5").is_none());
//! # Ok::<(), megaobs::Error>(())
//! ```
//!
//! Every key of a model's table must be one of `input`, `cached_input`,
//! `output`, `reasoning`; `input` and `output` are required; prices are
//! non-negative numbers. Anything else is a [`PriceTableError`] naming the file,
//! the model and the key.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use super::labels::GenAiTokenType;

/// Prices of one model, in USD per million tokens of each [`GenAiTokenType`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ModelPrice {
    per_million: [f64; 4],
}

impl ModelPrice {
    /// A price from USD per million tokens; `cached_input` defaults to `input`
    /// and `reasoning` to `output` when `None`. Negative or non-finite prices
    /// count as 0 (the TOML reader refuses them with an error instead).
    pub fn new(input: f64, cached_input: Option<f64>, output: f64, reasoning: Option<f64>) -> Self {
        let clean = |v: f64| if v.is_finite() && v > 0.0 { v } else { 0.0 };
        let mut per_million = [0.0; 4];
        per_million[GenAiTokenType::Input.index()] = clean(input);
        per_million[GenAiTokenType::CachedInput.index()] = clean(cached_input.unwrap_or(input));
        per_million[GenAiTokenType::Output.index()] = clean(output);
        per_million[GenAiTokenType::Reasoning.index()] = clean(reasoning.unwrap_or(output));
        Self { per_million }
    }

    /// USD per million tokens of `t`.
    pub fn per_million(&self, t: GenAiTokenType) -> f64 {
        self.per_million[t.index()]
    }

    /// What `tokens` tokens of type `t` cost, in USD (`tokens × price / 1e6`).
    pub fn cost(&self, t: GenAiTokenType, tokens: u64) -> f64 {
        tokens as f64 * self.per_million[t.index()] / 1e6
    }
}

/// Prices by model name (the `gen_ai.request.model` value).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PriceTable {
    models: HashMap<String, ModelPrice>,
}

/// Where a price table came from when it was not read from a file.
const INLINE: &str = "<inline price table>";

impl PriceTable {
    /// An empty table (every model is unpriced).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces the price of `model`.
    pub fn with_model(mut self, model: impl Into<String>, price: ModelPrice) -> Self {
        self.models.insert(model.into(), price);
        self
    }

    /// The price of `model`, if the table has it.
    pub fn get(&self, model: &str) -> Option<&ModelPrice> {
        self.models.get(model)
    }

    /// Number of priced models.
    pub fn len(&self) -> usize {
        self.models.len()
    }

    /// Whether no model is priced.
    pub fn is_empty(&self) -> bool {
        self.models.is_empty()
    }

    /// Reads a price table from the TOML file at `path`.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, PriceTableError> {
        let path = path.as_ref();
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| PriceTableError {
            file: file.clone(),
            model: None,
            key: None,
            kind: PriceErrorKind::Unreadable(e.to_string()),
        })?;
        Self::parse(&text, &file)
    }

    /// Reads a price table from TOML text (for configurations built in code,
    /// or a table embedded with `include_str!`).
    pub fn from_toml_str(text: &str) -> Result<Self, PriceTableError> {
        Self::parse(text, INLINE)
    }

    fn parse(text: &str, file: &str) -> Result<Self, PriceTableError> {
        let err = |model: Option<&str>, key: Option<&str>, kind| PriceTableError {
            file: file.to_string(),
            model: model.map(str::to_string),
            key: key.map(str::to_string),
            kind,
        };
        let root: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            err(
                None,
                None,
                PriceErrorKind::NotToml(e.message().trim().to_string()),
            )
        })?;
        let mut table = Self::new();
        for (key, value) in &root {
            if key != "models" {
                return Err(err(None, Some(key), PriceErrorKind::UnknownTopLevelKey));
            }
            let Some(models) = value.as_table() else {
                return Err(err(None, Some(key), PriceErrorKind::NotATable));
            };
            for (model, prices) in models {
                let Some(prices) = prices.as_table() else {
                    return Err(err(Some(model), None, PriceErrorKind::NotATable));
                };
                let mut found: [Option<f64>; 4] = [None; 4];
                for (k, v) in prices {
                    if v.is_table() {
                        // `[models.gpt-4.1]`: the dots split the model's name.
                        return Err(err(Some(model), Some(k), PriceErrorKind::NestedTable));
                    }
                    let Some(t) = GenAiTokenType::parse(k) else {
                        return Err(err(Some(model), Some(k), PriceErrorKind::UnknownKey));
                    };
                    let price = match v {
                        toml::Value::Float(f) => *f,
                        toml::Value::Integer(i) => *i as f64,
                        other => {
                            return Err(err(
                                Some(model),
                                Some(k),
                                PriceErrorKind::NotANumber(describe(other)),
                            ))
                        }
                    };
                    if !price.is_finite() || price < 0.0 {
                        return Err(err(Some(model), Some(k), PriceErrorKind::Negative(price)));
                    }
                    found[t.index()] = Some(price);
                }
                let get = |t: GenAiTokenType| found[t.index()];
                for required in [GenAiTokenType::Input, GenAiTokenType::Output] {
                    if get(required).is_none() {
                        return Err(err(
                            Some(model),
                            Some(required.as_str()),
                            PriceErrorKind::Missing,
                        ));
                    }
                }
                let price = ModelPrice::new(
                    get(GenAiTokenType::Input).unwrap_or(0.0),
                    get(GenAiTokenType::CachedInput),
                    get(GenAiTokenType::Output).unwrap_or(0.0),
                    get(GenAiTokenType::Reasoning),
                );
                table.models.insert(model.clone(), price);
            }
        }
        Ok(table)
    }
}

/// A non-number value as the message shows it.
fn describe(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => format!("the string {s:?}"),
        toml::Value::Boolean(b) => format!("the boolean {b}"),
        other => format!("a {}", other.type_str()),
    }
}

/// What is wrong with a price table (see [`PriceTableError`]).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum PriceErrorKind {
    /// The file cannot be read (the OS error's text).
    Unreadable(String),
    /// The text is not TOML (the parser's message).
    NotToml(String),
    /// A top-level key other than `models`.
    UnknownTopLevelKey,
    /// `models`, or a model's entry, is not a table.
    NotATable,
    /// A model's table holds a table: an unquoted model name with dots
    /// (`[models.gpt-4.1]` is model `gpt-4` with a table `1`).
    NestedTable,
    /// A key of a model's table is not a token type.
    UnknownKey,
    /// A price is not a number (the value as written).
    NotANumber(String),
    /// A price is negative (or not finite).
    Negative(f64),
    /// A required price (`input`, `output`) is absent.
    Missing,
}

/// A price table that cannot be used: the file, the model and the key at fault,
/// and what is wrong. Its message says how to fix it.
#[derive(Debug, Clone, PartialEq)]
pub struct PriceTableError {
    /// The file (or `<inline price table>` for [`PriceTable::from_toml_str`]).
    pub file: String,
    /// The model whose entry is wrong, if the fault is inside one.
    pub model: Option<String>,
    /// The key at fault, if any.
    pub key: Option<String>,
    /// What is wrong.
    pub kind: PriceErrorKind,
}

impl fmt::Display for PriceTableError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot use the LLM price table {} (LLM_PRICES)",
            self.file
        )?;
        let at = match (&self.model, &self.key) {
            (Some(m), Some(k)) => format!(" at models.\"{m}\".{k}"),
            (Some(m), None) => format!(" at models.\"{m}\""),
            (None, Some(k)) => format!(" at {k}"),
            (None, None) => String::new(),
        };
        f.write_str(&at)?;
        match &self.kind {
            PriceErrorKind::Unreadable(e) => write!(
                f,
                ": the file cannot be read ({e}); set LLM_PRICES to the path of a readable TOML file"
            ),
            PriceErrorKind::NotToml(e) => write!(
                f,
                ": it is not valid TOML ({e}); write one table per model, e.g. [models.\"gpt-4o\"] with input = 2.5 and output = 10.0"
            ),
            PriceErrorKind::UnknownTopLevelKey => f.write_str(
                ": unknown key; the file holds only [models.\"NAME\"] tables",
            ),
            PriceErrorKind::NotATable => f.write_str(
                ": not a table; write [models.\"NAME\"] followed by input, cached_input, output, reasoning",
            ),
            PriceErrorKind::NestedTable => f.write_str(
                ": a table inside a model's table; quote a model name that has dots, e.g. [models.\"gpt-4.1\"] rather than [models.gpt-4.1]",
            ),
            PriceErrorKind::UnknownKey => f.write_str(
                ": unknown token type; use input, cached_input, output or reasoning (USD per million tokens)",
            ),
            PriceErrorKind::NotANumber(v) => write!(
                f,
                ": {v} is not a number; write the price in USD per million tokens, e.g. 2.5"
            ),
            PriceErrorKind::Negative(v) if !v.is_finite() => write!(
                f,
                ": {v} is not a finite number; a price is a number of USD per million tokens, 0 or more"
            ),
            PriceErrorKind::Negative(v) => write!(
                f,
                ": {v} is negative; a price is a number of USD per million tokens, 0 or more"
            ),
            PriceErrorKind::Missing => f.write_str(
                ": this price is required; add it in USD per million tokens (cached_input defaults to input, reasoning to output)",
            ),
        }
    }
}

impl std::error::Error for PriceTableError {}
