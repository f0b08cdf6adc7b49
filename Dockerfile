# distd for a NAS or any Docker host: one static binary (and the dist CLI for `docker exec`),
# one /data volume, one port, a non-root user. No base image: scripts/build-image.sh builds the
# static binaries on the host and stages them with the CA certificates and the user entries in
# target/image/; this file only assembles that folder, so the build never pulls anything.
#
#   scripts/build-image.sh            # binaries, image dist:<version>-<commit>, and a docker save tarball
FROM scratch

ARG VERSION=0.0.0
ARG COMMIT=unknown
ARG CREATED=unknown
# The repository the image was built from (scripts/build-image.sh passes git's origin URL).
ARG SOURCE=unknown

LABEL org.opencontainers.image.title="distd" \
      org.opencontainers.image.description="dist: self-hosted release distribution server (distd) and CLI (dist)" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${COMMIT}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.licenses="Apache-2.0"

# Binaries, CA certificates, /etc/passwd and /etc/group naming the dist user, /tmp (1777).
COPY target/image/rootfs/ /
# The data folder, owned by the image's user, so a named volume starts writable.
COPY --chown=10001:10001 target/image/data/ /data/

ENV DIST_DATA=/data \
    DIST_LISTEN=0.0.0.0:8080 \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt

USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080

# distd handles SIGTERM as PID 1: it stops accepting, finishes requests in flight, closes the database.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 \
    CMD ["/usr/local/bin/distd", "healthcheck"]

ENTRYPOINT ["/usr/local/bin/distd"]
CMD ["serve"]
