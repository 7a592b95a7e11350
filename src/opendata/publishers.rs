//! The publishers of one portal: the county that runs it (its own, `kreisgeo catalog
//! publisher`) and the municipalities it runs it for ("Einer für alle"), each with its own IRI,
//! name, contact and licence. A dataset belongs to one; its DCAT publisher, CKAN organization,
//! default contact and licence and its political geocoding are that publisher's.

use std::collections::BTreeMap;

use sqlx::PgPool;

use super::ckan;
use super::metadata::Publisher;
use crate::catalog::repo;
use crate::error::{Error, Result};

/// Every publisher of the portal.
#[derive(Debug, Clone)]
pub struct Publishers {
    /// The portal's own: the catalog's publisher and that of datasets no other one has.
    pub main: Publisher,
    /// The further publishers by id (their CKAN organization name).
    pub others: BTreeMap<String, Publisher>,
}

impl Publishers {
    /// Reads them; the portal's own is a placeholder until one is entered.
    pub async fn load(pool: &PgPool, base_url: &str) -> Result<Self> {
        let main = repo::publisher(pool)
            .await?
            .unwrap_or_else(|| Publisher::unconfigured(base_url));
        let others = repo::publishers(pool).await?.into_iter().collect();
        Ok(Self { main, others })
    }

    /// The publisher of a dataset that belongs to `id` (`None`: the portal's own; an id no
    /// longer known falls back to it as well).
    pub fn of(&self, id: Option<&str>) -> &Publisher {
        id.and_then(|id| self.others.get(id)).unwrap_or(&self.main)
    }

    /// The CKAN organization name of publisher `id`: a further publisher's id, the portal's
    /// own name made a CKAN name.
    pub fn organization_name(&self, id: Option<&str>) -> String {
        match id.filter(|id| self.others.contains_key(*id)) {
            Some(id) => id.to_string(),
            None => ckan::organization_name(&self.main),
        }
    }

    /// Every publisher as (id, publisher), the portal's own first (`None`).
    pub fn all(&self) -> impl Iterator<Item = (Option<&str>, &Publisher)> {
        std::iter::once((None, &self.main))
            .chain(self.others.iter().map(|(id, p)| (Some(id.as_str()), p)))
    }

    /// Checks a new or replaced publisher's id: a valid one, not the portal's own
    /// organization name (it would shadow the county's organization).
    pub fn check_id(&self, id: &str) -> Result<()> {
        validate_id(id)?;
        if id == ckan::organization_name(&self.main) {
            return Err(Error::invalid(
                "publisher",
                format!("'{id}' is the organization name of the portal's own publisher"),
            ));
        }
        Ok(())
    }

    /// The publisher a CKAN organization name or a `publisher` parameter names, as the catalog
    /// filters by it: `""` for the portal's own, else the id.
    pub fn filter_for(&self, name: &str) -> Result<&str> {
        if let Some((id, _)) = self.others.get_key_value(name) {
            return Ok(id.as_str());
        }
        if name == ckan::organization_name(&self.main) {
            return Ok("");
        }
        Err(Error::invalid(
            "publisher",
            format!(
                "there is no publisher '{name}'; there are: {}",
                self.all()
                    .map(|(id, _)| self.organization_name(id))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ))
    }
}

/// Checks a publisher id: a CKAN organization name (2 to 100 of `a-z`, `0-9`, `-`, `_`).
pub fn validate_id(id: &str) -> Result<()> {
    let ok = (2..=100).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        && !id.starts_with(['-', '_']);
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            "publisher",
            format!(
                "'{id}' is not a publisher id: 2 to 100 lower-case letters, digits, '-' and '_', \
                 starting with a letter or digit (it is the CKAN organization name)"
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_ckan_organization_names() {
        assert!(validate_id("lauf-an-der-pegnitz").is_ok());
        assert!(validate_id("gemeinde_2").is_ok());
        for bad in ["x", "Lauf", "-lauf", "lauf an der pegnitz", "lauf/x", ""] {
            assert!(validate_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_dataset_without_a_publisher_is_the_portals() {
        let main = Publisher::unconfigured("http://localhost:8080");
        let mut lauf = main.clone();
        lauf.name = "Stadt Lauf".into();
        let publishers = Publishers {
            main: main.clone(),
            others: BTreeMap::from([("lauf".to_string(), lauf)]),
        };
        assert_eq!(publishers.of(Some("lauf")).name, "Stadt Lauf");
        assert_eq!(publishers.of(None), &main);
        assert_eq!(publishers.of(Some("gone")), &main);
        assert_eq!(publishers.organization_name(Some("lauf")), "lauf");
        assert_eq!(publishers.filter_for("lauf").unwrap(), "lauf");
        let own = ckan::organization_name(&main);
        assert_eq!(publishers.filter_for(&own).unwrap(), "");
        assert!(publishers.filter_for("nowhere").is_err());
    }
}
