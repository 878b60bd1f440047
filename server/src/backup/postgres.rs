//! PostgreSQL's own tools for the database part of a backup: `pg_dump` writes it (custom
//! format, from an exported snapshot), `pg_restore` reads it back, and reads single tables out of
//! it as text before a restore begins (the migrations applied, the instances' object keys).
//!
//! The tools are found as the private cluster finds `initdb` ([`find_binary`]). They get the
//! same URL the server connects with, less its password, which goes in `PGPASSWORD`: a
//! process's command line is readable by every account on the machine (`ps`), its environment
//! only by its own.

use std::path::Path;
use std::process::Stdio;

use anyhow::{Context, bail};
use elysium_db::embedded::find_binary;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

/// The dump leaves out the sessions' data: a session id is a bearer credential, and a backup
/// restored (perhaps on another machine, perhaps months later) should not sign anyone in.
pub const EXCLUDED_TABLE_DATA: &[&str] = &["tower_sessions.session"];

/// A database URL split for libpq: the URL without its password, and the password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LibpqUrl {
    pub url: String,
    pub password: Option<String>,
}

/// Splits the password out of a `postgres://` URL (from its user information or a `password`
/// query parameter), and turns the parameters that only sqlx knows into libpq's spellings
/// (`ssl-mode` → `sslmode`; `statement-cache-capacity` dropped) so that `pg_dump` takes the URL
/// the server takes. Query values are percent-encoded again (libpq reads `+` as a plus sign).
pub fn libpq_url(url: &str) -> anyhow::Result<LibpqUrl> {
    let mut parsed = url::Url::parse(url).context("DATABASE_URL is not a URL")?;
    if !matches!(parsed.scheme(), "postgres" | "postgresql") {
        bail!("DATABASE_URL must be a postgres:// URL");
    }
    let mut password = parsed.password().map(percent_decode).transpose()?;
    parsed.set_password(None).map_err(|()| anyhow::anyhow!("DATABASE_URL's password cannot be removed"))?;
    let mut query = Vec::new();
    for (key, value) in parsed.query_pairs() {
        let key = match key.as_ref() {
            "password" => {
                password = Some(value.into_owned());
                continue;
            }
            "statement-cache-capacity" => continue,
            "ssl-mode" => "sslmode",
            "ssl-root-cert" | "ssl-ca" => "sslrootcert",
            "ssl-cert" => "sslcert",
            "ssl-key" => "sslkey",
            other => other,
        };
        query.push(format!("{}={}", percent_encode(key), percent_encode(&value)));
    }
    parsed.set_query((!query.is_empty()).then(|| query.join("&")).as_deref());
    Ok(LibpqUrl { url: parsed.into(), password })
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => char::from(b).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn percent_decode(text: &str) -> anyhow::Result<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
            let byte = hex.and_then(|h| u8::from_str_radix(h, 16).ok()).context("a bad %-escape in the URL")?;
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).context("the URL's password is not UTF-8")
}

/// A PostgreSQL client program pointed at `url`: never prompting for a password (`-w`: it
/// would wait on a terminal), the password in its environment.
fn tool(program: &'static str, url: &LibpqUrl) -> anyhow::Result<Command> {
    let binary = find_binary(program).with_context(|| format!("`elysium backup` and `restore` need `{program}`"))?;
    let mut command = Command::new(binary);
    command.arg("-w").arg(format!("--dbname={}", url.url));
    if let Some(password) = &url.password {
        command.env("PGPASSWORD", password);
    }
    command.stdin(Stdio::null()).kill_on_drop(true);
    Ok(command)
}

/// Starts `pg_dump` of `url` into `file` in the custom format, from `snapshot` (exported by a
/// `SERIALIZABLE, READ ONLY, DEFERRABLE` transaction that stays open until it ends: pg_dump's own
/// rule for a snapshot it is given, and what makes the dump agree with the objects listed in that
/// transaction). Dropping the child kills it.
pub fn start_dump(url: &LibpqUrl, snapshot: &str, file: &Path) -> anyhow::Result<tokio::process::Child> {
    let mut command = tool("pg_dump", url)?;
    command
        .arg("--format=custom")
        .arg(format!("--snapshot={snapshot}"))
        // A migration holding a table's lock makes the dump fail rather than wait for ever.
        .arg("--lock-wait-timeout=60s")
        .arg("--file")
        .arg(file);
    for table in EXCLUDED_TABLE_DATA {
        command.arg(format!("--exclude-table-data={table}"));
    }
    command.stdout(Stdio::null()).stderr(Stdio::piped());
    command.spawn().context("starting pg_dump")
}

/// Waits for a tool started here; its error output is the message when it fails.
pub async fn finish(program: &str, child: tokio::process::Child) -> anyhow::Result<()> {
    let output = child.wait_with_output().await.with_context(|| format!("waiting for {program}"))?;
    if !output.status.success() {
        bail!("{program} failed ({}): {}", output.status, String::from_utf8_lossy(&output.stderr).trim());
    }
    Ok(())
}

/// `pg_restore` of `dump` into `url`, in one transaction (all of it or nothing), stopping at the
/// first error. The objects belong to the restoring role (`--no-owner`) and the dumped grants
/// are left out (`--no-acl`): the roles of the dumped server need not exist on this one.
pub async fn restore(url: &LibpqUrl, dump: &Path) -> anyhow::Result<()> {
    let mut command = tool("pg_restore", url)?;
    command
        .args(["--no-owner", "--no-acl", "--single-transaction", "--exit-on-error"])
        .arg(dump)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    finish("pg_restore", command.spawn().context("starting pg_restore")?).await
}

/// Reads the data of `schema.table` out of `dump` without any database (`pg_restore` writes it
/// as a script, its rows as a `COPY ... FROM stdin` block) and hands each row to `row`: the
/// columns' names, then the row's values (`None` for NULL).
pub async fn read_table(
    dump: &Path,
    schema: &str,
    table: &str,
    mut row: impl FnMut(&[String], &[Option<String>]) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let binary = find_binary("pg_restore").context("`elysium restore` needs `pg_restore`")?;
    let mut child = Command::new(binary)
        .args(["--data-only", "--schema", schema, "--table", table, "--file", "-"])
        .arg(dump)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .context("starting pg_restore")?;
    let stdout = child.stdout.take().context("pg_restore's output")?;
    let mut lines = BufReader::new(stdout).lines();
    let mut block = CopyBlock::new(schema, table);
    while let Some(line) = lines.next_line().await.context("reading pg_restore's output")? {
        if let Some(values) = block.line(&line)? {
            row(&block.columns, &values)?;
        }
    }
    finish("pg_restore", child).await?;
    if !block.seen {
        bail!("the dump holds no data of {schema}.{table}");
    }
    Ok(())
}

/// The state of reading one table's `COPY` block out of a script.
#[derive(Debug)]
struct CopyBlock {
    headers: [String; 2],
    columns: Vec<String>,
    inside: bool,
    seen: bool,
}

impl CopyBlock {
    fn new(schema: &str, table: &str) -> CopyBlock {
        // pg_dump quotes a name only when it must; both spellings are taken.
        let quoted = format!("COPY \"{schema}\".\"{table}\" (");
        CopyBlock {
            headers: [format!("COPY {schema}.{table} ("), quoted],
            columns: Vec::new(),
            inside: false,
            seen: false,
        }
    }

    /// One line of the script: a row's values when it is one of the table's rows.
    fn line(&mut self, line: &str) -> anyhow::Result<Option<Vec<Option<String>>>> {
        if self.inside {
            if line == "\\." {
                self.inside = false;
                return Ok(None);
            }
            let values: Vec<Option<String>> = line.split('\t').map(copy_value).collect::<Result<_, _>>()?;
            if values.len() != self.columns.len() {
                bail!("a row of the dump has {} values for {} columns", values.len(), self.columns.len());
            }
            return Ok(Some(values));
        }
        let Some(rest) = self.headers.iter().find_map(|h| line.strip_prefix(h.as_str())) else { return Ok(None) };
        let columns = rest.strip_suffix(") FROM stdin;").context("an unexpected COPY line in the dump")?;
        self.columns = columns.split(", ").map(|c| c.trim_matches('"').to_owned()).collect();
        self.inside = true;
        self.seen = true;
        Ok(None)
    }
}

/// One value of COPY's text format: `\N` is NULL; backslash escapes are undone.
fn copy_value(field: &str) -> anyhow::Result<Option<String>> {
    if field == "\\N" {
        return Ok(None);
    }
    if !field.contains('\\') {
        return Ok(Some(field.to_owned()));
    }
    let mut out = Vec::with_capacity(field.len());
    let mut bytes = field.bytes().peekable();
    while let Some(b) = bytes.next() {
        if b != b'\\' {
            out.push(b);
            continue;
        }
        let escaped = bytes.next().context("a COPY value ends in a backslash")?;
        out.push(match escaped {
            b'b' => 0x08,
            b'f' => 0x0c,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'v' => 0x0b,
            b'0'..=b'7' => {
                let mut value = u32::from(escaped - b'0');
                for _ in 0..2 {
                    match bytes.peek() {
                        Some(d @ b'0'..=b'7') => {
                            value = value * 8 + u32::from(d - b'0');
                            bytes.next();
                        }
                        _ => break,
                    }
                }
                u8::try_from(value & 0xff).unwrap_or_default()
            }
            other => other,
        });
    }
    Ok(Some(String::from_utf8(out).context("a COPY value is not UTF-8")?))
}

/// A `bytea` value as COPY writes it (hex format, `\x...`): its bytes.
pub fn bytea(text: &str) -> anyhow::Result<Vec<u8>> {
    let hex = text.strip_prefix("\\x").context("a bytea value not in hex format")?;
    if hex.len() % 2 != 0 {
        bail!("a bytea value of odd length");
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).context("a bytea value with a non-hex digit"))
        .collect()
}

/// What makes a database not empty, as a restore sees it: tables, views, sequences, functions
/// or schemas of its own (outside `public`, PostgreSQL's catalogs and its default extension).
/// A restore never merges into or overwrites existing data. The answer is how many there are and
/// the first few by name, tables first.
pub async fn contents(pool: &sqlx::PgPool) -> anyhow::Result<(i64, Vec<String>)> {
    let found: Vec<(i64, String)> = sqlx::query_as(
        "select count(*) over (), what from ( \
           select case when c.relkind in ('r', 'p') then 1 else 2 end as rank, \
                  format('%s %I.%I', case c.relkind when 'r' then 'table' when 'p' then 'table' \
                    when 'v' then 'view' when 'S' then 'sequence' when 'm' then 'materialized view' \
                    else 'foreign table' end, n.nspname, c.relname) as what \
           from pg_class c join pg_namespace n on n.oid = c.relnamespace \
           where n.nspname not in ('pg_catalog', 'information_schema') and n.nspname !~ '^pg_' \
             and c.relkind in ('r', 'v', 'S', 'm', 'p', 'f') \
           union all \
           select 3, format('function %I.%I', n.nspname, p.proname) \
           from pg_proc p join pg_namespace n on n.oid = p.pronamespace \
           where n.nspname not in ('pg_catalog', 'information_schema') and n.nspname !~ '^pg_' \
           union all \
           select 4, format('schema %I', n.nspname) from pg_namespace n \
           where n.nspname not in ('public', 'information_schema') and n.nspname !~ '^pg_' \
         ) found order by rank, what limit 5",
    )
    .fetch_all(pool)
    .await?;
    let total = found.first().map_or(0, |(total, _)| *total);
    Ok((total, found.into_iter().map(|(_, what)| what).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_leaves_the_url_for_the_environment() {
        let split =
            libpq_url("postgres://postgres:p%40ss%2Fw@localhost/elysium?host=/tmp/pg%20x&port=5432").expect("a URL");
        assert_eq!(split.password.as_deref(), Some("p@ss/w"));
        assert_eq!(split.url, "postgres://postgres@localhost/elysium?host=/tmp/pg%20x&port=5432");
        let query = libpq_url("postgresql://u@db/x?password=secret&ssl-mode=require&statement-cache-capacity=9")
            .expect("a URL");
        assert_eq!(query.password.as_deref(), Some("secret"));
        assert_eq!(query.url, "postgresql://u@db/x?sslmode=require");
        // libpq reads '+' as itself, so a space must travel as %20.
        let options = libpq_url("postgres://u@db/x?options=-c%20statement_timeout%3D5").expect("a URL");
        assert_eq!(options.url, "postgres://u@db/x?options=-c%20statement_timeout%3D5");
        assert_eq!(
            libpq_url("postgres://u@db/x").expect("a URL"),
            LibpqUrl { url: "postgres://u@db/x".into(), password: None }
        );
        assert!(libpq_url("mysql://u@db/x").is_err());
        assert!(libpq_url("not a url").is_err());
    }

    #[test]
    fn a_copy_block_of_one_table_is_read_out_of_a_script() {
        let script = "SET x = 1;\n\
            COPY public.other (a) FROM stdin;\n1\n\\.\n\
            COPY public.instance (id, object_key, sha256, size_bytes, note) FROM stdin;\n\
            u1\tinstances/a.dcm\tab\t12\t\\N\n\
            u2\tinstances/b.dcm\tcd\t7\ttab\\there\\\\ back\\nline\\101\n\
            \\.\n\
            SELECT 1;\n";
        let mut block = CopyBlock::new("public", "instance");
        let mut rows = Vec::new();
        for line in script.lines() {
            if let Some(values) = block.line(line).expect("a line") {
                rows.push(values);
            }
        }
        assert!(block.seen);
        assert_eq!(block.columns, ["id", "object_key", "sha256", "size_bytes", "note"]);
        assert_eq!(rows.len(), 2, "the other table's rows are not the instance's");
        assert_eq!(rows[0][4], None);
        assert_eq!(rows[1][4].as_deref(), Some("tab\there\\ back\nlineA"));
        let mut short = CopyBlock::new("public", "instance");
        short.line("COPY public.instance (a, b) FROM stdin;").expect("header");
        assert!(short.line("only-one").is_err(), "a row with too few values is an error");
        let mut quoted = CopyBlock::new("public", "_sqlx_migrations");
        quoted.line("COPY \"public\".\"_sqlx_migrations\" (version, \"checksum\") FROM stdin;").expect("header");
        assert_eq!(quoted.columns, ["version", "checksum"]);
    }

    #[test]
    fn bytea_hex_values_decode() {
        assert_eq!(bytea("\\x00ff10").expect("hex"), [0, 255, 16]);
        assert!(bytea("00ff").is_err() && bytea("\\x0").is_err() && bytea("\\xzz").is_err());
    }
}
