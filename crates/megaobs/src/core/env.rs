//! Reading configuration from environment variables, shared by every pillar's
//! config type: an empty value counts as unset, and every invalid value is an
//! [`Error::InvalidEnv`] naming the variable, the value and what is accepted.

use crate::core::resource::DEFAULT_SERVICE_NAME;
use crate::error::{Error, Result};

pub(crate) fn env_lookup(var: &str) -> Option<String> {
    // A variable that is set but not valid UTF-8 is reported as its lossy form,
    // so the error names it instead of silently treating it as unset.
    std::env::var_os(var).map(|v| v.to_string_lossy().into_owned())
}

/// Reads variables; an empty value counts as unset.
pub(crate) struct Env<'a, F: Fn(&str) -> Option<String>>(pub(crate) &'a F);

impl<F: Fn(&str) -> Option<String>> Env<'_, F> {
    pub(crate) fn get(&self, var: &str) -> Option<String> {
        (self.0)(var).filter(|v| !v.trim().is_empty())
    }

    pub(crate) fn string(&self, var: &'static str) -> Result<Option<String>> {
        match self.get(var) {
            Some(v) if v.contains('\u{FFFD}') => Err(invalid(var, &v, "valid UTF-8 text")),
            other => Ok(other.map(|v| v.trim().to_string())),
        }
    }

    pub(crate) fn first_set(&self, vars: &[&'static str]) -> Option<(&'static str, String)> {
        vars.iter().find_map(|v| self.get(v).map(|val| (*v, val)))
    }

    pub(crate) fn parse<T>(
        &self,
        var: &'static str,
        expected: &'static str,
        f: impl Fn(&str) -> Option<T>,
    ) -> Result<Option<T>> {
        match self.get(var) {
            None => Ok(None),
            Some(raw) => f(raw.trim())
                .map(Some)
                .ok_or_else(|| invalid(var, &raw, expected)),
        }
    }
}

/// Whether `url` starts with `scheme` (such as `"http://"`), in any letter case.
pub(crate) fn has_scheme(url: &str, scheme: &str) -> bool {
    url.trim_start()
        .get(..scheme.len())
        .is_some_and(|s| s.eq_ignore_ascii_case(scheme))
}

pub(crate) fn invalid(var: &'static str, value: &str, expected: &'static str) -> Error {
    Error::InvalidEnv {
        var,
        value: value.to_string(),
        expected,
    }
}

pub(crate) fn service_name<F: Fn(&str) -> Option<String>>(env: &Env<'_, F>) -> Result<String> {
    match env.first_set(&["TRACING_SERVICE_NAME", "OTEL_SERVICE_NAME"]) {
        Some((var, name)) => {
            let name = name.trim();
            match crate::core::resource::service_name_problem(name) {
                None => Ok(name.to_string()),
                Some(expected) => Err(invalid(var, name, expected)),
            }
        }
        None => Ok(DEFAULT_SERVICE_NAME.to_string()),
    }
}

pub(crate) fn parse_bool(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

pub(crate) fn parse_ratio(var: &'static str, raw: &str) -> Result<f64> {
    raw.trim()
        .parse::<f64>()
        .ok()
        .filter(|r| (0.0..=1.0).contains(r))
        .ok_or_else(|| invalid(var, raw, "a number from 0.0 to 1.0"))
}
