//! The language of a page: German, or English for visitors who ask for it (`lang=en`, or
//! English first in `Accept-Language`). The portal's visitors are German counties' citizens,
//! so German is the default when a browser names neither.

use actix_web::http::header;
use actix_web::HttpRequest;

use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    De,
    En,
}

impl Lang {
    /// `lang` decides (`de`, `en`); without it, whichever of the two `Accept-Language`
    /// weighs higher.
    pub fn of(req: &HttpRequest) -> Result<Self> {
        let asked = req
            .query_string()
            .split('&')
            .find_map(|p| p.strip_prefix("lang="));
        if let Some(asked) = asked {
            return Self::parse(asked).ok_or_else(|| {
                Error::invalid(
                    "lang",
                    format!("unsupported language '{asked}'; supported: de, en"),
                )
            });
        }
        let accept = req
            .headers()
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok());
        Ok(Self::from_accept_language(accept))
    }

    fn parse(code: &str) -> Option<Self> {
        match code {
            "de" => Some(Self::De),
            "en" => Some(Self::En),
            _ => None,
        }
    }

    /// The better of German and English by the header's weights (first listed wins ties).
    pub fn from_accept_language(accept: Option<&str>) -> Self {
        let mut best: Option<(f32, Self)> = None;
        for range in accept.unwrap_or_default().split(',') {
            let mut parts = range.split(';');
            let tag = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            let primary = tag.split('-').next().unwrap_or_default();
            let Some(lang) = Self::parse(primary) else {
                continue;
            };
            if q > 0.0 && best.is_none_or(|(b, _)| q > b) {
                best = Some((q, lang));
            }
        }
        best.map_or(Self::De, |(_, l)| l)
    }

    /// `de` or `en`, for `lang` attributes and parameters.
    pub fn code(self) -> &'static str {
        match self {
            Self::De => "de",
            Self::En => "en",
        }
    }

    /// The other language (the switch offers it).
    pub fn other(self) -> Self {
        match self {
            Self::De => Self::En,
            Self::En => Self::De,
        }
    }

    /// The name of this language in itself, as the switch shows it.
    pub fn name(self) -> &'static str {
        match self {
            Self::De => "Deutsch",
            Self::En => "English",
        }
    }

    /// The German or the English text.
    pub fn pick<'a>(self, de: &'a str, en: &'a str) -> &'a str {
        match self {
            Self::De => de,
            Self::En => en,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_weights_decide() {
        let of = |h| Lang::from_accept_language(Some(h));
        assert_eq!(Lang::from_accept_language(None), Lang::De);
        assert_eq!(of("en-GB,en;q=0.9"), Lang::En);
        assert_eq!(of("de-DE,de;q=0.9,en;q=0.8"), Lang::De);
        assert_eq!(of("fr-FR,en;q=0.8,de;q=0.5"), Lang::En);
        assert_eq!(of("de;q=0.4,en;q=0.6"), Lang::En);
        assert_eq!(of("fr"), Lang::De);
        assert_eq!(of("en;q=0,de;q=0.1"), Lang::De);
    }
}
