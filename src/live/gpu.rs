//! GPU discovery for live hosts.
//!
//! Two sources, both reduced to a list of [`GpuDevice`]s:
//!
//! * `nvidia-smi` on a host without Docker (the process executor), through
//!   [`discover_local_gpus`] / [`discover_with`] and the parser [`parse_nvidia_smi`];
//! * the CDI device ids a Docker daemon reports in `info().discovered_devices`, through
//!   [`from_docker_devices`].
//!
//! `nvidia-smi` rather than NVML: NVML would need `nvml-wrapper` and a shared library loaded
//! at run time, while the CSV query is one program call whose output operators can also paste
//! into a hosts file. NVIDIA does not promise that output stays backwards compatible, so the
//! parser is strict about the shape it expects and says exactly what it found instead.

use std::collections::HashMap;
use std::io;
use std::path::Path;
use std::process::Command;

/// Environment variable naming an alternative program to run instead of `nvidia-smi`
/// (a wrapper script, or a fake one in tests).
pub const NVIDIA_SMI_ENV: &str = "FLOTILLA_NVIDIA_SMI";

/// The arguments given to `nvidia-smi`: one CSV line per GPU, `index, uuid, name, memory.total`,
/// memory in MiB without the unit.
pub const NVIDIA_SMI_ARGS: [&str; 2] = [
    "--query-gpu=index,uuid,name,memory.total",
    "--format=csv,noheader,nounits",
];

/// The columns [`parse_nvidia_smi`] expects, in order.
const COLUMNS: [&str; 4] = ["index", "uuid", "name", "memory.total"];

/// One GPU of a host.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct GpuDevice {
    /// The index the driver gives it (nvidia-smi / NVML order, i.e. PCI bus order). For a
    /// device known only by UUID (see [`from_docker_devices`]) its position in the list.
    pub index: u32,
    /// `GPU-…` UUID; empty when only the index is known.
    pub uuid: String,
    /// Product name, e.g. `NVIDIA H100 80GB HBM3`; empty when unknown.
    pub name: String,
    /// Total memory in MiB; 0 when unknown.
    pub memory_mib: u64,
}

/// Parses the output of
/// `nvidia-smi --query-gpu=index,uuid,name,memory.total --format=csv,noheader,nounits`.
///
/// Also accepted, because operators paste either: a header line (`index, uuid, name,
/// memory.total [MiB]`, as printed without `noheader`), memory with its unit (`81559 MiB`, as
/// printed without `nounits`), blank lines and CRLF line ends. A memory value nvidia-smi cannot
/// report (`[N/A]`, `[Not Supported]`) becomes 0, meaning unknown. Empty input is no GPUs.
///
/// Errors name the 1-based line number, the field and what was expected, and reject duplicate
/// indices or UUIDs (a sign of two pastes run together). Devices are returned in input order.
pub fn parse_nvidia_smi(text: &str) -> Result<Vec<GpuDevice>, String> {
    let mut devices = Vec::new();
    // Where each index and UUID was first seen, to report duplicates against it.
    let mut seen_index: HashMap<u32, usize> = HashMap::new();
    let mut seen_uuid: HashMap<String, usize> = HashMap::new();
    let mut first_content_line = true;
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        let is_first = std::mem::replace(&mut first_content_line, false);
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        if is_first && fields[0].eq_ignore_ascii_case("index") {
            check_header(line_no, &fields)?;
            continue;
        }
        let device = parse_line(line_no, &fields)?;
        if let Some(prev) = seen_index.insert(device.index, line_no) {
            return Err(format!(
                "line {line_no}: field `index`: {} already appears on line {prev}; expected one line per GPU",
                device.index
            ));
        }
        if let Some(prev) = seen_uuid.insert(device.uuid.clone(), line_no) {
            return Err(format!(
                "line {line_no}: field `uuid`: {} already appears on line {prev}; expected one line per GPU",
                device.uuid
            ));
        }
        devices.push(device);
    }
    Ok(devices)
}

/// Checks a header line: the four expected columns, units in brackets allowed.
fn check_header(line_no: usize, fields: &[&str]) -> Result<(), String> {
    let names: Vec<&str> = fields
        .iter()
        // "memory.total [MiB]" -> "memory.total"
        .map(|f| f.split('[').next().unwrap_or("").trim())
        .collect();
    let matches = names.len() == COLUMNS.len()
        && names
            .iter()
            .zip(COLUMNS)
            .all(|(got, want)| got.eq_ignore_ascii_case(want));
    if matches {
        Ok(())
    } else {
        Err(format!(
            "line {line_no}: header has columns `{}`; expected `{}` (query with --query-gpu={})",
            fields.join(", "),
            COLUMNS.join(", "),
            COLUMNS.join(",")
        ))
    }
}

/// Parses one data line, already split on commas and trimmed.
fn parse_line(line_no: usize, fields: &[&str]) -> Result<GpuDevice, String> {
    if fields.len() < COLUMNS.len() {
        return Err(format!(
            "line {line_no}: {} field(s) `{}`; expected 4 comma-separated fields `{}`",
            fields.len(),
            fields.join(", "),
            COLUMNS.join(", ")
        ));
    }
    // No GPU name seen so far has a comma, but if one ever does, the first two and the last
    // fields are still unambiguous: the name is everything in between.
    let index_field = fields[0];
    let uuid_field = fields[1];
    let memory_field = fields[fields.len() - 1];
    let name = fields[2..fields.len() - 1].join(", ");

    let index: u32 = index_field.parse().map_err(|_| {
        format!(
            "line {line_no}: field `index`: expected a non-negative integer, found `{index_field}`"
        )
    })?;
    let uuid_ok = (uuid_field.starts_with("GPU-") || uuid_field.starts_with("MIG-"))
        && uuid_field.len() > 4
        && !uuid_field.contains(char::is_whitespace);
    if !uuid_ok {
        return Err(format!(
            "line {line_no}: field `uuid`: expected a `GPU-…` UUID, found `{uuid_field}`"
        ));
    }
    if name.is_empty() {
        return Err(format!(
            "line {line_no}: field `name`: expected the GPU's product name, found nothing"
        ));
    }
    let memory_mib = parse_memory(memory_field).ok_or_else(|| {
        format!(
            "line {line_no}: field `memory.total`: expected MiB as an integer (`81559` or `81559 MiB`), found `{memory_field}`"
        )
    })?;
    Ok(GpuDevice {
        index,
        uuid: uuid_field.to_string(),
        name,
        memory_mib,
    })
}

/// `81559`, `81559 MiB` -> 81559; `[N/A]`, `[Not Supported]` -> 0 (unknown); else `None`.
fn parse_memory(field: &str) -> Option<u64> {
    if field.starts_with('[') && field.ends_with(']') {
        return Some(0);
    }
    let number = match field.strip_suffix("MiB") {
        Some(rest) => rest.trim_end(),
        None => field,
    };
    number.parse().ok()
}

/// Discovers this host's GPUs by running `nvidia-smi` (or the program named by
/// [`NVIDIA_SMI_ENV`], `FLOTILLA_NVIDIA_SMI`, when set and non-empty).
///
/// No `nvidia-smi` on the host means no NVIDIA driver, so no GPUs: `Ok(vec![])`. A program
/// named explicitly through the environment variable that does not exist is an error instead,
/// since the operator asked for it. See [`discover_with`] for the other cases.
pub fn discover_local_gpus() -> Result<Vec<GpuDevice>, String> {
    match std::env::var_os(NVIDIA_SMI_ENV) {
        Some(program) if !program.is_empty() => match query(Path::new(&program))? {
            Some(devices) => Ok(devices),
            None => Err(format!(
                "{NVIDIA_SMI_ENV}={}: program not found",
                Path::new(&program).display()
            )),
        },
        _ => discover_with(Path::new("nvidia-smi")),
    }
}

/// Runs `program` (looked up in `PATH` when it has no slash) with [`NVIDIA_SMI_ARGS`] and
/// parses its output with [`parse_nvidia_smi`].
///
/// A program that does not exist → `Ok(vec![])` (a host without the NVIDIA driver). One that
/// exits non-zero (e.g. "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA
/// driver", exit 9) → `Err` with its stderr (or its stdout, where nvidia-smi prints that
/// message). Output that does not parse → `Err` naming the program and the line.
pub fn discover_with(program: &Path) -> Result<Vec<GpuDevice>, String> {
    Ok(query(program)?.unwrap_or_default())
}

/// [`discover_with`], with "program not found" kept apart as `Ok(None)`.
fn query(program: &Path) -> Result<Option<Vec<GpuDevice>>, String> {
    let output = match Command::new(program).args(NVIDIA_SMI_ARGS).output() {
        Ok(output) => output,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot run {}: {e}", program.display())),
    };
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let stdout = String::from_utf8_lossy(&output.stdout);
        // nvidia-smi writes its driver errors to stdout; show whichever has something.
        let message = if stderr.trim().is_empty() {
            stdout.trim()
        } else {
            stderr.trim()
        };
        return Err(format!(
            "{} {} failed ({}): {message}",
            program.display(),
            NVIDIA_SMI_ARGS.join(" "),
            output.status
        ));
    }
    let text = String::from_utf8_lossy(&output.stdout);
    parse_nvidia_smi(&text)
        .map(Some)
        .map_err(|e| format!("output of {}: {e}", program.display()))
}

/// Turns the CDI device ids a Docker daemon reports (`info().discovered_devices[].id`,
/// Docker ≥ 28 with CDI enabled) into GPUs. Name and memory are not in the id: they come back
/// empty / 0.
///
/// `nvidia-ctk cdi generate` names each GPU by index (`nvidia.com/gpu=0`, the default), by
/// UUID (`nvidia.com/gpu=GPU-…`) or both, and adds `nvidia.com/gpu=all`. Handling:
///
/// * ids of other kinds (`vendor.com/fpga=0`, anything that is not `nvidia.com/gpu=…`),
///   `all`, and MIG devices (`0:1`, `MIG-…`) are skipped — MIG partitions are not scheduled
///   as GPUs yet;
/// * when both naming strategies are present each GPU appears twice and the id alone cannot
///   pair an index with its UUID (Docker lists the ids sorted, not in device order), so the
///   index-named devices win and the UUID-named ones are dropped, to never count a GPU twice;
/// * UUID-only devices get their position in the (sorted) list as `index`; that is not
///   the driver's index, and executors must address them by UUID.
///
/// The result is sorted by index with duplicates removed.
pub fn from_docker_devices(ids: &[String]) -> Vec<GpuDevice> {
    let mut by_index: Vec<u32> = Vec::new();
    let mut by_uuid: Vec<String> = Vec::new();
    for id in ids {
        let Some(device) = id.trim().strip_prefix("nvidia.com/gpu=") else {
            continue;
        };
        if let Ok(index) = device.parse::<u32>() {
            by_index.push(index);
        } else if device.starts_with("GPU-") && device.len() > 4 {
            by_uuid.push(device.to_string());
        }
        // "all", "0:1" (MIG), "MIG-…" and anything unrecognised: skipped (see above).
    }
    if !by_index.is_empty() {
        by_index.sort_unstable();
        by_index.dedup();
        by_index
            .into_iter()
            .map(|index| GpuDevice {
                index,
                uuid: String::new(),
                name: String::new(),
                memory_mib: 0,
            })
            .collect()
    } else {
        by_uuid.sort();
        by_uuid.dedup();
        by_uuid
            .into_iter()
            .zip(0u32..)
            .map(|(uuid, index)| GpuDevice {
                index,
                uuid,
                name: String::new(),
                memory_mib: 0,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;
    use std::path::PathBuf;

    const H100_UUID0: &str = "GPU-4f2b6c1e-8a3d-2b9f-7c11-0e5d9a3b6f21";
    const H100_UUID1: &str = "GPU-9a1c7e55-3b2f-4d8e-a6c0-71f2e8d4b0c3";

    /// Eight lines as an 8×H100 SXM node prints them (two shown).
    fn h100_output() -> String {
        format!(
            "0, {H100_UUID0}, NVIDIA H100 80GB HBM3, 81559\n\
             1, {H100_UUID1}, NVIDIA H100 80GB HBM3, 81559\n"
        )
    }

    fn dev(index: u32, uuid: &str, name: &str, memory_mib: u64) -> GpuDevice {
        GpuDevice {
            index,
            uuid: uuid.to_string(),
            name: name.to_string(),
            memory_mib,
        }
    }

    #[test]
    fn parses_noheader_nounits_h100() {
        let got = parse_nvidia_smi(&h100_output()).unwrap();
        assert_eq!(
            got,
            vec![
                dev(0, H100_UUID0, "NVIDIA H100 80GB HBM3", 81559),
                dev(1, H100_UUID1, "NVIDIA H100 80GB HBM3", 81559),
            ]
        );
    }

    #[test]
    fn parses_header_and_units_a100() {
        // `--format=csv` (header, units) from an A100 40GB PCIe host, CRLF and blank lines
        // added as a paste from a Windows terminal would have them.
        let text = "index, uuid, name, memory.total [MiB]\r\n\
                    \r\n\
                    0, GPU-2c0e6a7d-51f4-9b3a-0d8e-4e1f6a2b7c90, NVIDIA A100-PCIE-40GB, 40960 MiB\r\n\
                    \n\
                    1, GPU-7d3a2e10-6c9b-4f5e-8a1d-b2c3d4e5f607, NVIDIA A100-PCIE-40GB, 40960 MiB\r\n";
        let got = parse_nvidia_smi(text).unwrap();
        assert_eq!(
            got,
            vec![
                dev(
                    0,
                    "GPU-2c0e6a7d-51f4-9b3a-0d8e-4e1f6a2b7c90",
                    "NVIDIA A100-PCIE-40GB",
                    40960
                ),
                dev(
                    1,
                    "GPU-7d3a2e10-6c9b-4f5e-8a1d-b2c3d4e5f607",
                    "NVIDIA A100-PCIE-40GB",
                    40960
                ),
            ]
        );
    }

    #[test]
    fn header_without_units_and_mixed_units() {
        let text = format!(
            "index, uuid, name, memory.total\n0, {H100_UUID0}, NVIDIA H100 80GB HBM3, 81559 MiB\n1, {H100_UUID1}, NVIDIA H100 80GB HBM3, 81559\n"
        );
        let got = parse_nvidia_smi(&text).unwrap();
        assert_eq!(got.len(), 2);
        assert!(got.iter().all(|d| d.memory_mib == 81559));
    }

    #[test]
    fn empty_and_header_only_are_no_gpus() {
        assert_eq!(parse_nvidia_smi("").unwrap(), vec![]);
        assert_eq!(parse_nvidia_smi("\n  \n").unwrap(), vec![]);
        assert_eq!(
            parse_nvidia_smi("index, uuid, name, memory.total [MiB]\n").unwrap(),
            vec![]
        );
    }

    #[test]
    fn unknown_memory_is_zero() {
        let text = format!("0, {H100_UUID0}, NVIDIA GH200 480GB, [N/A]\n");
        assert_eq!(parse_nvidia_smi(&text).unwrap()[0].memory_mib, 0);
    }

    #[test]
    fn name_with_comma_is_kept_whole() {
        let text = format!("3, {H100_UUID0}, Some GPU, Rev B, 1024\n");
        let got = parse_nvidia_smi(&text).unwrap();
        assert_eq!(got, vec![dev(3, H100_UUID0, "Some GPU, Rev B", 1024)]);
    }

    #[test]
    fn errors_name_line_field_and_expectation() {
        let bad_index = format!("0, {H100_UUID0}, NVIDIA H100 80GB HBM3, 81559\nx1, {H100_UUID1}, NVIDIA H100 80GB HBM3, 81559\n");
        let e = parse_nvidia_smi(&bad_index).unwrap_err();
        assert!(
            e.contains("line 2") && e.contains("`index`") && e.contains("non-negative integer"),
            "{e}"
        );

        let e = parse_nvidia_smi("0, 4f2b6c1e, NVIDIA H100 80GB HBM3, 81559").unwrap_err();
        assert!(
            e.contains("line 1") && e.contains("`uuid`") && e.contains("GPU-"),
            "{e}"
        );

        let e = parse_nvidia_smi(&format!("\n\n0, {H100_UUID0}, , 81559")).unwrap_err();
        assert!(e.contains("line 3") && e.contains("`name`"), "{e}");

        let e = parse_nvidia_smi(&format!("0, {H100_UUID0}, NVIDIA H100, 80 GB")).unwrap_err();
        assert!(
            e.contains("line 1") && e.contains("`memory.total`") && e.contains("80 GB"),
            "{e}"
        );

        let e = parse_nvidia_smi("0, GPU-1, H100").unwrap_err();
        assert!(
            e.contains("line 1") && e.contains("expected 4 comma-separated fields"),
            "{e}"
        );
    }

    #[test]
    fn garbage_is_rejected() {
        let text = "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. \
                    Make sure that the latest NVIDIA driver is installed and running.\n";
        let e = parse_nvidia_smi(text).unwrap_err();
        assert!(e.starts_with("line 1:"), "{e}");

        // `nvidia-smi -L` pasted instead of the CSV query.
        let e = parse_nvidia_smi(&format!(
            "GPU 0: NVIDIA H100 80GB HBM3 (UUID: {H100_UUID0})"
        ))
        .unwrap_err();
        assert!(e.starts_with("line 1:"), "{e}");
    }

    #[test]
    fn wrong_header_is_rejected() {
        let e = parse_nvidia_smi("index, name, uuid, memory.total [MiB]\n").unwrap_err();
        assert!(
            e.contains("line 1")
                && e.contains("header")
                && e.contains("index, uuid, name, memory.total"),
            "{e}"
        );
    }

    #[test]
    fn duplicates_are_rejected() {
        let twice = format!("{0}{0}", h100_output());
        let e = parse_nvidia_smi(&twice).unwrap_err();
        assert!(e.contains("line 3") && e.contains("line 1"), "{e}");

        let same_uuid = format!(
            "0, {H100_UUID0}, NVIDIA H100 80GB HBM3, 81559\n1, {H100_UUID0}, NVIDIA H100 80GB HBM3, 81559\n"
        );
        let e = parse_nvidia_smi(&same_uuid).unwrap_err();
        assert!(e.contains("line 2") && e.contains("`uuid`"), "{e}");
    }

    /// Writes an executable shell script into `dir`.
    fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
        let path = dir.join(name);
        let mut f = std::fs::File::create(&path).unwrap();
        writeln!(f, "#!/bin/sh\n{body}").unwrap();
        f.sync_all().unwrap();
        drop(f);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    /// [`discover_with`], retried while exec fails with ETXTBSY: another test thread may fork
    /// while our script's write descriptor is still open, and the child holds a copy until it
    /// execs (a known race of writing-then-running a file in a multi-threaded process).
    fn discover_retrying(program: &Path) -> Result<Vec<GpuDevice>, String> {
        for _ in 0..50 {
            match discover_with(program) {
                Err(e) if e.contains("os error 26") => {
                    std::thread::sleep(std::time::Duration::from_millis(20))
                }
                other => return other,
            }
        }
        discover_with(program)
    }

    #[test]
    fn discover_with_fake_nvidia_smi() {
        let dir = tempfile::tempdir().unwrap();
        // The fake checks it was asked the right query, like a strict nvidia-smi would.
        let ok = script(
            dir.path(),
            "fake-smi",
            &format!(
                "[ \"$1\" = '{}' ] && [ \"$2\" = '{}' ] || {{ echo \"bad args: $*\" >&2; exit 2; }}\n\
                 printf '%s\\n' '0, {H100_UUID0}, NVIDIA H100 80GB HBM3, 81559' \
                 '1, {H100_UUID1}, NVIDIA H100 80GB HBM3, 81559'",
                NVIDIA_SMI_ARGS[0], NVIDIA_SMI_ARGS[1]
            ),
        );
        let got = discover_retrying(&ok).unwrap();
        assert_eq!(got, parse_nvidia_smi(&h100_output()).unwrap());

        let failing = script(
            dir.path(),
            "failing-smi",
            "echo 'Failed to initialize NVML: Driver/library version mismatch' >&2; exit 18",
        );
        let e = discover_retrying(&failing).unwrap_err();
        assert!(e.contains("Driver/library version mismatch"), "{e}");

        // nvidia-smi puts the no-driver message on stdout.
        let no_driver = script(
            dir.path(),
            "no-driver-smi",
            "echo \"NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.\"; exit 9",
        );
        let e = discover_retrying(&no_driver).unwrap_err();
        assert!(e.contains("couldn't communicate"), "{e}");

        let garbage = script(dir.path(), "garbage-smi", "echo hello");
        let e = discover_retrying(&garbage).unwrap_err();
        assert!(e.contains("garbage-smi") && e.contains("line 1"), "{e}");

        let missing = dir.path().join("no-such-nvidia-smi");
        assert_eq!(discover_retrying(&missing).unwrap(), vec![]);
    }

    #[test]
    fn docker_cdi_ids_by_index() {
        let ids: Vec<String> = [
            "nvidia.com/gpu=1",
            "nvidia.com/gpu=0",
            "nvidia.com/gpu=all",
            "nvidia.com/gpu=0", // reported twice: counted once
            "vendor.com/fpga=0",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(
            from_docker_devices(&ids),
            vec![dev(0, "", "", 0), dev(1, "", "", 0)]
        );
    }

    #[test]
    fn docker_cdi_ids_by_uuid() {
        let ids = vec![
            format!("nvidia.com/gpu={H100_UUID1}"),
            format!("nvidia.com/gpu={H100_UUID0}"),
            "nvidia.com/gpu=all".to_string(),
        ];
        assert_eq!(
            from_docker_devices(&ids),
            vec![dev(0, H100_UUID0, "", 0), dev(1, H100_UUID1, "", 0)]
        );
    }

    #[test]
    fn docker_cdi_both_strategies_count_each_gpu_once() {
        // Docker lists the CDI cache sorted: indices, then UUIDs, then `all`.
        let ids = vec![
            "nvidia.com/gpu=0".to_string(),
            "nvidia.com/gpu=1".to_string(),
            format!("nvidia.com/gpu={H100_UUID0}"),
            format!("nvidia.com/gpu={H100_UUID1}"),
            "nvidia.com/gpu=all".to_string(),
        ];
        assert_eq!(
            from_docker_devices(&ids),
            vec![dev(0, "", "", 0), dev(1, "", "", 0)]
        );
    }

    #[test]
    fn docker_cdi_mig_and_nothing() {
        let ids = vec![
            "nvidia.com/gpu=0:0".to_string(),
            "nvidia.com/gpu=MIG-1b2c3d4e-0000-1111-2222-333344445555".to_string(),
            "nvidia.com/gpu=all".to_string(),
        ];
        assert_eq!(from_docker_devices(&ids), vec![]);
        assert_eq!(from_docker_devices(&[]), vec![]);
    }
}
