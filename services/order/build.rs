//! Compiles the order service's protos (`proto/` at the top of the repository) with `protox`,
//! a protobuf compiler in Rust: no `protoc` to install or download. The file descriptor set is
//! kept beside the generated code, for gRPC reflection.

use std::path::PathBuf;

use prost::Message;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join("../../proto");
    let file = root.join("fooddelivery/order/v1/order.proto");
    println!("cargo:rerun-if-changed={}", root.display());
    let descriptors = protox::compile([&file], [&root])?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out.join("order_descriptor.bin"),
        descriptors.encode_to_vec(),
    )?;
    tonic_prost_build::configure()
        .skip_protoc_run()
        .compile_fds(descriptors)?;
    Ok(())
}
