//! `kreisgeo generate`: deterministic test data inside Landkreis Lüneburg.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

use kreisgeo::generate::{self, GenKind, OutputFormat};

/// `kreisgeo generate --kind K --count N --out FILE`
#[derive(clap::Args)]
pub struct GenerateArgs {
    #[arg(long, value_enum)]
    pub kind: GenKind,
    #[arg(long)]
    pub count: usize,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Output file; the format follows the extension (.geojson, .fgb) unless --format says.
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long, value_enum)]
    pub format: Option<OutputFormat>,
}

/// Writes the generated features.
pub fn run(args: GenerateArgs) -> anyhow::Result<()> {
    let GenerateArgs {
        kind,
        count,
        seed,
        out,
        format,
    } = args;
    generate_file(kind, count, seed, &out, format)
}

fn generate_file(
    kind: GenKind,
    count: usize,
    seed: u64,
    out: &Path,
    format: Option<OutputFormat>,
) -> anyhow::Result<()> {
    let format = match format {
        Some(f) => f,
        None => match out.extension().and_then(|e| e.to_str()) {
            Some("fgb") => OutputFormat::Fgb,
            Some("geojson" | "json") => OutputFormat::Geojson,
            _ => bail!("cannot tell the format of {}; give --format", out.display()),
        },
    };
    let features = generate::generate(kind, count, seed);
    let file = std::fs::File::create(out).with_context(|| format!("creating {}", out.display()))?;
    let mut writer = std::io::BufWriter::new(file);
    match format {
        OutputFormat::Geojson => generate::write_geojson(kind, &features, &mut writer)?,
        OutputFormat::Fgb => generate::write_fgb(kind, &features, &mut writer)?,
    }
    std::io::Write::flush(&mut writer)?;
    eprintln!("wrote {} features to {}", features.len(), out.display());
    Ok(())
}
