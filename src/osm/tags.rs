//! The tags of an OSM element, kept only for the keys the basemap, the addresses and the
//! walking network read: a Kreis has millions of tags and most of them matter to none of these.

/// Keys kept whole; `addr:*`, `name:*`, `sidewalk*` and `footway*` keys are kept besides.
const KEYS: &[&str] = &[
    "access",
    "admin_level",
    "amenity",
    "area",
    "boundary",
    "bridge",
    "building",
    "covered",
    "entrance",
    "foot",
    "highway",
    "landuse",
    "layer",
    "leisure",
    "motorroad",
    "name",
    "natural",
    "place",
    "population",
    "railway",
    "ref",
    "service",
    "tunnel",
    "type",
    "water",
    "waterway",
];

fn kept(key: &str) -> bool {
    KEYS.binary_search(&key).is_ok()
        || key.starts_with("addr:")
        || key.starts_with("name:")
        || key.starts_with("sidewalk")
}

/// The kept tags of one element, in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tags(Vec<(Box<str>, Box<str>)>);

impl Tags {
    /// Keeps the tags that matter from `(key, value)` pairs.
    pub fn keep<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> Self {
        Self(
            pairs
                .filter(|(k, _)| kept(k))
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }

    pub fn from_pairs(pairs: &[(&str, &str)]) -> Self {
        Self::keep(pairs.iter().copied())
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| &**k == key)
            .map(|(_, v)| &**v)
            .filter(|v| !v.is_empty())
    }

    /// Whether `key` has one of `values`.
    pub fn is(&self, key: &str, values: &[&str]) -> bool {
        self.get(key).is_some_and(|v| values.contains(&v))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Every kept tag, in file order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (&**k, &**v))
    }

    /// Whether a tag says yes (`yes`, `true`, `1`).
    pub fn yes(&self, key: &str) -> bool {
        self.is(key, &["yes", "true", "1"])
    }

    /// Any tag whose key starts with `prefix`.
    pub fn any_with_prefix<'a>(
        &'a self,
        prefix: &'a str,
    ) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (&**k, &**v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_list_is_sorted_for_the_binary_search() {
        assert!(KEYS.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn only_the_keys_that_matter_are_kept() {
        let tags = Tags::from_pairs(&[
            ("highway", "footway"),
            ("surface", "asphalt"),
            ("addr:street", "Marktplatz"),
            ("name:hsb", "Wojerecy"),
            ("sidewalk:left", "yes"),
            ("name", ""),
        ]);
        assert_eq!(tags.get("highway"), Some("footway"));
        assert_eq!(tags.get("surface"), None);
        assert_eq!(tags.get("addr:street"), Some("Marktplatz"));
        assert_eq!(tags.get("name:hsb"), Some("Wojerecy"));
        assert_eq!(tags.get("sidewalk:left"), Some("yes"));
        // An empty value is no value.
        assert_eq!(tags.get("name"), None);
    }
}
