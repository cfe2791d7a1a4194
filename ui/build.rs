//! Builds the single-page app in `web/` with npm and Vite, and lists its files for `src/web.rs` to embed:
//! `$OUT_DIR/web_assets.rs` holds one `Asset` per file, its bytes taken with `include_bytes!`.
//!
//! Node.js and npm are needed to build the crate. `npm ci` runs when `node_modules` is missing or older than
//! `package-lock.json`; the build runs again when a file of the app changes.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

fn main() {
    let manifest_dir =
        std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let web = PathBuf::from(manifest_dir).join("web");
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    for input in [
        "src",
        "index.html",
        "package.json",
        "package-lock.json",
        "vite.config.ts",
        "tsconfig.json",
    ] {
        println!("cargo:rerun-if-changed={}", web.join(input).display());
    }

    let installed = modified(&web.join("node_modules/.package-lock.json"));
    if installed.is_none() || installed < modified(&web.join("package-lock.json")) {
        // The build tools are devDependencies: installed even where NODE_ENV=production would leave them out.
        npm(&web, &["ci", "--include=dev", "--no-audit", "--no-fund"]);
    }
    let dist = out_dir.join("web");
    let dist_arg = dist.to_str().expect("OUT_DIR is UTF-8");
    npm(&web, &["run", "build", "--", "--outDir", dist_arg, "--emptyOutDir"]);

    let mut files = Vec::new();
    collect(&dist, &mut files);
    files.sort();
    let mut code =
        String::from("/// The files of the web app's build.\nstatic ASSETS: &[Asset] = &[\n");
    for file in &files {
        let path = file.strip_prefix(&dist).expect("under the build directory");
        let url = format!("/{}", path.to_str().expect("UTF-8 file names").replace('\\', "/"));
        writeln!(
            code,
            "    Asset {{ path: {url:?}, content_type: {:?}, body: include_bytes!({:?}) }},",
            content_type(file),
            file.to_str().expect("UTF-8 paths"),
        )
        .expect("writing to a String");
    }
    code.push_str("];\n");
    std::fs::write(out_dir.join("web_assets.rs"), code).expect("writing web_assets.rs");
}

fn npm(dir: &Path, args: &[&str]) {
    let status = Command::new("npm").args(args).current_dir(dir).status().unwrap_or_else(|error| {
        panic!(
            "building the web UI needs Node.js and npm, to run `npm {}` in {}: {error}",
            args.join(" "),
            dir.display()
        )
    });
    assert!(status.success(), "`npm {}` in {} failed: {status}", args.join(" "), dir.display());
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|metadata| metadata.modified()).ok()
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("reading the web build") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            collect(&path, files);
        } else {
            files.push(path);
        }
    }
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|extension| extension.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("json") => "application/json",
        Some("woff2") => "font/woff2",
        _ => "application/octet-stream",
    }
}
