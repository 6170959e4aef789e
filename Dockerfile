# syntax=docker/dockerfile:1
#
# One image recipe for every service and the gateway. All binaries are built once in a shared
# builder stage; the final stage picks one of them:
#
#   docker build --build-arg SERVICE=order -t fooddelivery/order .
#
# SERVICE is one of: order, payment, store, delivery, notification, mypage, review, gateway.
# Dependencies are compiled in their own layer (cargo-chef), so a change to the project's code
# rebuilds only the workspace crates.

ARG RUST_VERSION=1.95.0
ARG DEBIAN_RELEASE=bookworm

# ---------------------------------------------------------------- toolchain + build tools
FROM rust:${RUST_VERSION}-slim-${DEBIAN_RELEASE} AS chef
ARG RUST_VERSION
# librdkafka is compiled from source by the rdkafka crate: it needs cmake, a C++ compiler,
# OpenSSL and zlib headers.
RUN apt-get update \
 && apt-get install -y --no-install-recommends cmake g++ make pkg-config libssl-dev zlib1g-dev \
 && rm -rf /var/lib/apt/lists/*
# Use the image's toolchain as it is; the repository's toolchain file would also ask for
# rustfmt and clippy, which a release build does not need.
ENV RUSTUP_TOOLCHAIN=${RUST_VERSION} \
    CARGO_TERM_COLOR=never \
    CARGO_INCREMENTAL=0
RUN cargo install cargo-chef --locked --version 0.1.78
WORKDIR /src

# ---------------------------------------------------------------- dependency recipe
FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

# ---------------------------------------------------------------- build
FROM chef AS builder
COPY --from=planner /src/recipe.json recipe.json
# Dependencies only: this layer stays cached until Cargo.toml / Cargo.lock change.
RUN cargo chef cook --release --locked --recipe-path recipe.json
COPY . .
RUN cargo build --release --locked \
      --bin order --bin payment --bin store --bin delivery \
      --bin notification --bin mypage --bin review --bin gateway --bin dlq-replay \
 && mkdir -p /out \
 && for bin in order payment store delivery notification mypage review gateway dlq-replay; do \
      cp "target/release/$bin" /out/; \
    done

# ---------------------------------------------------------------- runtime
FROM debian:${DEBIAN_RELEASE}-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libssl3 zlib1g \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid app --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin app

ARG SERVICE=gateway
COPY --from=builder /out/${SERVICE} /usr/local/bin/${SERVICE}
# The dead-letter replayer in every image, so that an operator can run it in any service's pod,
# with that pod's Kafka settings and network access (docs/operations.md, "Replay dead letters").
COPY --from=builder /out/dlq-replay /usr/local/bin/dlq-replay
# A fixed entrypoint name, so the same ENTRYPOINT serves every service.
RUN ln -s /usr/local/bin/${SERVICE} /usr/local/bin/service

LABEL org.opencontainers.image.title="fooddelivery-${SERVICE}" \
      org.opencontainers.image.description="Food delivery on Kafka: the ${SERVICE} service"

ENV SERVICE=${SERVICE} \
    HOST=0.0.0.0 \
    LOG_FORMAT=json \
    RUST_LOG=info

USER 10001:10001
# Each service listens on its own port (order 8081 … mypage 8086, gateway 8088; PORT overrides),
# the order service on 9081 too, for gRPC (GRPC_PORT).
EXPOSE 8081 8082 8083 8084 8085 8086 8087 8088 9081
# Exec form: the binary is PID 1 and receives SIGTERM directly for a graceful shutdown.
ENTRYPOINT ["/usr/local/bin/service"]
