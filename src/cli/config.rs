//! `kreisgeo.toml`: every option of every command from a file. A value in the file becomes the
//! option's default, so that a flag and an environment variable still win (flag > environment
//! > file > built-in default) and clap checks it like any other value.
//!
//! Top-level keys are the global options, a table per command holds its options (`[serve]`,
//! `[ingest]`, `[aed.coverage]`); keys are the long option names (`public_url` or
//! `public-url`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context};
use clap::parser::ValueSource;
use clap::{Arg, ArgAction, ArgMatches, Command};

/// Where the file is named: `--config FILE` (anywhere on the command line) or
/// `KREISGEO_CONFIG`. Read before clap parses, since the file changes the options' defaults.
pub fn path_from(args: &[std::ffi::OsString]) -> Option<PathBuf> {
    let mut iter = args.iter().skip(1);
    while let Some(arg) = iter.next() {
        let text = arg.to_string_lossy();
        if text == "--" {
            break;
        }
        if text == "--config" {
            return iter.next().map(PathBuf::from);
        }
        if let Some(path) = text.strip_prefix("--config=") {
            return Some(PathBuf::from(path));
        }
    }
    std::env::var_os("KREISGEO_CONFIG")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// One setting of the file: the command path (empty: global), the option and where it is.
#[derive(Debug, Clone)]
pub struct Setting {
    pub command: Vec<String>,
    pub key: String,
    values: Vec<String>,
    pub line: usize,
}

impl Setting {
    /// The value as TOML shows it.
    pub fn shown(&self) -> String {
        match self.values.as_slice() {
            [one] => quote(one),
            many => format!(
                "[{}]",
                many.iter().map(|v| quote(v)).collect::<Vec<_>>().join(", ")
            ),
        }
    }
}

/// A parsed configuration file.
#[derive(Debug, Clone)]
pub struct ConfigFile {
    pub path: PathBuf,
    pub settings: Vec<Setting>,
}

/// Options that are never settings.
const NOT_SETTINGS: &[&str] = &["help", "version", "config"];

impl ConfigFile {
    pub fn read(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the configuration file {}", path.display()))?;
        Self::parse(path, &text)
    }

    pub fn parse(path: &Path, text: &str) -> anyhow::Result<Self> {
        let doc = toml_edit::ImDocument::parse(text.to_string())
            .map_err(|e| anyhow!("{}: {e}", path.display()))?;
        let mut settings = Vec::new();
        collect(path, text, doc.as_table(), &mut Vec::new(), &mut settings)?;
        Ok(Self {
            path: path.to_path_buf(),
            settings,
        })
    }

    /// Makes each setting the default of its option in `cmd`; an unknown command or option is
    /// refused with its line.
    pub fn apply(&self, mut cmd: Command) -> anyhow::Result<Command> {
        let commands = names(cmd.get_subcommands().map(Command::get_name));
        for s in &self.settings {
            let target = command_mut(&mut cmd, &s.command).ok_or_else(|| {
                anyhow!(
                    "{} line {}: there is no command `{}` (commands: {commands})",
                    self.path.display(),
                    s.line,
                    s.command.join(" "),
                )
            })?;
            let Some(id) = option_id(target, &s.key) else {
                let known = names(settings_of(target).map(key_of));
                bail!(
                    "{} line {}: unknown setting `{}`{} (known: {known})",
                    self.path.display(),
                    s.line,
                    s.key,
                    table_name(&s.command)
                );
            };
            let values = s.values.clone();
            // A password must not show in --help as the default.
            let secret = SECRETS.contains(&normal(&s.key).as_str());
            *target = std::mem::take(target).mut_arg(id, |arg| {
                arg.default_values(values).hide_default_value(secret)
            });
        }
        Ok(cmd)
    }

    /// The line that set `key` of `command`, if the file set it.
    pub fn line_of(&self, command: &[String], key: &str) -> Option<usize> {
        self.settings
            .iter()
            .find(|s| s.command == command && normal(&s.key) == key)
            .map(|s| s.line)
    }
}

fn table_name(command: &[String]) -> String {
    if command.is_empty() {
        " at the top level".into()
    } else {
        format!(" in [{}]", command.join("."))
    }
}

fn names<'a>(items: impl Iterator<Item = impl Into<std::borrow::Cow<'a, str>>>) -> String {
    let mut all: Vec<String> = items.map(|n| n.into().into_owned()).collect();
    all.sort();
    all.join(", ")
}

fn normal(key: &str) -> String {
    key.replace('-', "_")
}

/// The file's name for an option: its long name with underscores.
pub fn key_of(arg: &Arg) -> String {
    normal(arg.get_long().unwrap_or(arg.get_id().as_str()))
}

/// The options of `cmd` a file may set.
pub fn settings_of(cmd: &Command) -> impl Iterator<Item = &Arg> {
    cmd.get_arguments()
        .filter(|a| !a.is_positional() && a.get_long().is_some_and(|l| !NOT_SETTINGS.contains(&l)))
}

fn option_id(cmd: &Command, key: &str) -> Option<String> {
    let key = normal(key);
    settings_of(cmd)
        .find(|a| key_of(a) == key)
        .map(|a| a.get_id().to_string())
}

fn command_mut<'a>(cmd: &'a mut Command, path: &[String]) -> Option<&'a mut Command> {
    match path.split_first() {
        None => Some(cmd),
        Some((first, rest)) => command_mut(cmd.find_subcommand_mut(first)?, rest),
    }
}

fn line_at(text: &str, offset: Option<usize>) -> usize {
    offset.map_or(0, |o| text[..o.min(text.len())].matches('\n').count() + 1)
}

fn collect(
    path: &Path,
    text: &str,
    table: &toml_edit::Table,
    command: &mut Vec<String>,
    out: &mut Vec<Setting>,
) -> anyhow::Result<()> {
    for (key, item) in table {
        let line = line_at(
            text,
            table
                .key(key)
                .and_then(toml_edit::Key::span)
                .map(|s| s.start),
        );
        match item {
            toml_edit::Item::Table(inner) => {
                command.push(key.to_string());
                collect(path, text, inner, command, out)?;
                command.pop();
            }
            toml_edit::Item::Value(value) => {
                let values = scalar_values(value).ok_or_else(|| {
                    anyhow!(
                        "{} line {line}: `{key}` must be a string, number, boolean or a list of them",
                        path.display()
                    )
                })?;
                out.push(Setting {
                    command: command.clone(),
                    key: key.to_string(),
                    values,
                    line,
                });
            }
            _ => bail!(
                "{} line {line}: `{key}`: arrays of tables are not settings",
                path.display()
            ),
        }
    }
    Ok(())
}

fn scalar_values(value: &toml_edit::Value) -> Option<Vec<String>> {
    let one = |v: &toml_edit::Value| match v {
        toml_edit::Value::String(s) => Some(s.value().clone()),
        toml_edit::Value::Integer(i) => Some(i.value().to_string()),
        toml_edit::Value::Float(f) => Some(f.value().to_string()),
        toml_edit::Value::Boolean(b) => Some(b.value().to_string()),
        _ => None,
    };
    match value {
        toml_edit::Value::Array(items) => items.iter().map(one).collect(),
        other => one(other).map(|v| vec![v]),
    }
}

/// Options whose values hold passwords: shown with the password masked.
const SECRETS: &[&str] = &["database_url", "replica_url", "listen_url"];

/// The effective settings of `matches` (of the command at `path`), each with where it came
/// from, as TOML lines.
pub fn describe(
    cmd: &Command,
    matches: &ArgMatches,
    path: &[String],
    file: Option<&ConfigFile>,
    out: &mut String,
) {
    use std::fmt::Write;
    let mut rows = BTreeMap::new();
    // Global options are shown once, at the top.
    for arg in settings_of(cmd).filter(|a| path.is_empty() || !a.is_global_set()) {
        let id = arg.get_id().as_str();
        let key = key_of(arg);
        let values: Vec<String> = matches
            .get_raw(id)
            .map(|raw| raw.map(|v| v.to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        let shown: Vec<String> = if SECRETS.contains(&key.as_str()) {
            values.iter().map(|v| mask(v)).collect()
        } else {
            values
        };
        let value = match (shown.len(), arg.get_action()) {
            (0, _) => String::new(),
            (1, ArgAction::Append) | (2.., _) => format!(
                "[{}]",
                shown
                    .iter()
                    .map(|v| quote(v))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            (_, _) => quote(&shown[0]),
        };
        let source = match matches.value_source(id) {
            Some(ValueSource::CommandLine) => "command line".to_string(),
            Some(ValueSource::EnvVariable) => format!(
                "environment {}",
                arg.get_env()
                    .map(|e| e.to_string_lossy().into_owned())
                    .unwrap_or_default()
            ),
            Some(ValueSource::DefaultValue) => {
                match file.and_then(|f| Some((f, f.line_of(path, &key)?))) {
                    Some((f, line)) => format!("{} line {line}", f.path.display()),
                    None => "default".to_string(),
                }
            }
            _ => "not set".to_string(),
        };
        rows.insert(key, (value, source));
    }
    for (key, (value, source)) in rows {
        if value.is_empty() {
            let _ = writeln!(out, "# {key}: not set");
        } else {
            let _ = writeln!(out, "{key} = {value}  # {source}");
        }
    }
}

fn quote(v: &str) -> String {
    if v.parse::<f64>().is_ok() || v == "true" || v == "false" {
        v.to_string()
    } else {
        format!("{v:?}")
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`; anything else that is
/// not a URL is hidden whole.
pub fn mask(value: &str) -> String {
    match url::Url::parse(value) {
        Ok(mut url) => {
            if url.password().is_some() {
                let _ = url.set_password(Some("***"));
            }
            url.to_string()
        }
        Err(_) => "***".to_string(),
    }
}

/// Whether `arg` is a setting worth listing in the example: it has an environment variable or
/// a default (per-invocation options such as `--dataset` have neither).
fn listed(arg: &Arg) -> bool {
    arg.get_env().is_some() || !arg.get_default_values().is_empty()
}

/// The annotated example file: every setting of every command, commented out at its default,
/// with its help and environment variable. `packaging/kreisgeo.toml` is this output (a test
/// compares them).
pub fn example(cmd: &Command) -> String {
    let mut out = String::from(
        "# kreisgeo.toml — every setting of every command, here at its default (commented out).\n\
         # kreisgeo reads it from --config FILE or KREISGEO_CONFIG. A flag wins over the\n\
         # environment variable, which wins over this file, which wins over the default.\n\
         # `kreisgeo config check` prints what is in effect and where it came from; an unknown\n\
         # key is refused with its line. Keys are the long options (`public_url` = --public-url);\n\
         # a list is written [\"a\", \"b\"]. Generated by `kreisgeo config example`.\n",
    );
    let mut cmd = cmd.clone();
    cmd.build();
    section(&cmd, &mut Vec::new(), &mut out);
    out
}

fn section(cmd: &Command, path: &mut Vec<String>, out: &mut String) {
    let args: Vec<&Arg> = if path.is_empty() {
        settings_of(cmd).filter(|a| listed(a)).collect()
    } else {
        // Global options appear once, at the top.
        settings_of(cmd)
            .filter(|a| listed(a) && !a.is_global_set())
            .collect()
    };
    if !args.is_empty() {
        if !path.is_empty() {
            out.push_str(&format!("\n[{}]\n", path.join(".")));
        }
        for arg in args {
            out.push('\n');
            let help = arg
                .get_long_help()
                .or_else(|| arg.get_help())
                .map(ToString::to_string)
                .unwrap_or_default();
            for line in wrap(&help, 92) {
                out.push_str(&format!("# {line}\n"));
            }
            if let Some(env) = arg.get_env() {
                out.push_str(&format!("# environment: {}\n", env.to_string_lossy()));
            }
            let defaults: Vec<String> = arg
                .get_default_values()
                .iter()
                .map(|v| v.to_string_lossy().into_owned())
                .collect();
            let value = match defaults.as_slice() {
                [] => "\"…\"".to_string(),
                [one] if !matches!(arg.get_action(), ArgAction::Append) => quote(one),
                many => format!(
                    "[{}]",
                    many.iter().map(|v| quote(v)).collect::<Vec<_>>().join(", ")
                ),
            };
            out.push_str(&format!("# {} = {value}\n", key_of(arg)));
        }
    }
    for sub in cmd.get_subcommands() {
        if sub.get_name() == "help" {
            continue;
        }
        path.push(sub.get_name().to_string());
        section(sub, path, out);
        path.pop();
    }
}

fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    for paragraph in text.lines() {
        let mut line = String::new();
        for word in paragraph.split_whitespace() {
            if !line.is_empty() && line.len() + 1 + word.len() > width {
                lines.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masked_urls_keep_everything_but_the_password() {
        assert_eq!(
            mask("postgres://kreisgeo:s3cret@db:5432/kreisgeo"),
            "postgres://kreisgeo:***@db:5432/kreisgeo"
        );
        assert_eq!(mask("postgres://db/kreisgeo"), "postgres://db/kreisgeo");
        assert_eq!(mask("not a url with s3cret"), "***");
    }
}
