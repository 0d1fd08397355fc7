//! The gateway checks and queues jobs; it must not build the sandbox. This
//! keeps its dependency tree free of wasmtime (the job's rules live in
//! `lingo-job` for that reason).

use std::process::Command;

#[test]
fn the_gateway_does_not_depend_on_wasmtime() {
    let out = Command::new(env!("CARGO"))
        .args(["tree", "--offline", "-p", "lingo-gateway", "-e", "normal", "--prefix", "none", "--format", "{p}"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run cargo tree");
    assert!(out.status.success(), "cargo tree failed: {}", String::from_utf8_lossy(&out.stderr));
    let tree = String::from_utf8_lossy(&out.stdout);
    assert!(tree.lines().any(|l| l.starts_with("lingo-job ")), "the tree lists lingo-job:\n{tree}");
    let sandbox: Vec<&str> =
        tree.lines().filter(|l| l.starts_with("wasmtime") || l.starts_with("lingo-engine ")).collect();
    assert!(sandbox.is_empty(), "the gateway depends on {sandbox:?}");
}
