# syntax=docker/dockerfile:1
#
# yail-server in a container: the built-in gallery by default, as a non-root
# user, on port 5556. docs/install.md (Container) explains the choices;
# compose.yaml is a ready example.
#
#   docker build -t yail-server .
#   docker run --rm -p 5556:5556 yail-server
#
# PROFILE=dist builds with link-time optimisation across all crates (slower
# to build, a little faster; docs/performance.md):
#   docker build --build-arg PROFILE=dist -t yail-server .

# --- build ------------------------------------------------------------------
# Rust 1.90 or newer builds the workspace; this is the release the binaries
# are built and measured with. Debian 12 (bookworm), like the runtime below,
# so the binary needs no newer glibc than the runtime has.
FROM rust:1.95-bookworm AS builder
ARG PROFILE=release
WORKDIR /src
# Only what the build reads comes in (.dockerignore keeps the rest out).
COPY . .
# The registry and the build directory are cache mounts: a rebuild after a
# source change recompiles the workspace, not its 230-odd dependencies.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --locked --profile "$PROFILE" -p yail-server \
    && install -D -m 0755 "target/$PROFILE/yail-server" /out/yail-server

# --- run --------------------------------------------------------------------
FROM debian:bookworm-slim
# ca-certificates: the roots rustls checks HTTPS servers against (search,
# showurl, the generation APIs). The binary needs only glibc, libgcc_s and
# libm besides, all in the base image. Not pinned to a version: the newest
# roots are the point.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 yail \
    && useradd --system --uid 10001 --gid yail --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin yail \
    && install -d -o yail -g yail -m 0750 /etc/yail \
    && install -d -m 0755 /pictures
COPY --from=builder /out/yail-server /usr/local/bin/yail-server

# Mount points, both optional: /pictures for your pictures (read-only is
# enough; set YAIL_PATHS=/pictures), /etc/yail for the settings: the admin
# page saves its changes in /etc/yail/runtime.toml, and a yail.toml of yours
# there is read with YAIL_CONFIG=/etc/yail/yail.toml. Without pictures the
# built-in gallery is served. No VOLUME instruction: it would
# create an anonymous volume on every `docker run`.
#
# The admin page listens on the container's loopback: the health check
# reaches it, nothing outside does. To open it, set YAIL_ADMIN_BIND=0.0.0.0
# together with YAIL_ADMIN_TOKEN (the server refuses to start without one)
# and publish the port on the host's loopback: -p 127.0.0.1:5557:5557.
ENV YAIL_BIND=0.0.0.0 \
    YAIL_PORT=5556 \
    YAIL_ADMIN_BIND=127.0.0.1 \
    YAIL_ADMIN_PORT=5557 \
    YAIL_RUNTIME_FILE=/etc/yail/runtime.toml
EXPOSE 5556/tcp 5557/tcp

USER 10001:10001

# /healthz answers "ok" without a token. Plain bash, as the image has no
# HTTP client: one request over /dev/tcp, then look for the answer.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${YAIL_ADMIN_PORT} && printf 'GET /healthz HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && grep -q '^ok' <&3"]

# docker stop sends SIGTERM: the server gives sessions up to 10 s to finish
# the picture in flight, so give it a little more than docker's default 10 s
# before SIGKILL (docker stop -t 15; compose.yaml sets stop_grace_period).
ENTRYPOINT ["/usr/local/bin/yail-server"]
