# Fluent Bit with the in_cloudtrail input plugin.
#   docker build -t in_cloudtrail .
#   docker buildx build --platform linux/amd64,linux/arm64 --build-arg VERSION=$(git describe --tags --always --dirty) -t REPO/in_cloudtrail --push .
# The build stage runs on the builder's own platform and cross-compiles
# (cgo with Debian's cross gcc) for the target, so arm64 needs no emulation.
# libdeflate (the target's, through multiarch) is linked into the plugin
# statically: the Fluent Bit image needs nothing more.
#   docker run --rm -e CLOUDTRAIL_QUEUE_URL=https://sqs.REGION.amazonaws.com/ACCOUNT/QUEUE in_cloudtrail
# The plugin is built on the same Debian release (bookworm, glibc) as the
# official fluent/fluent-bit image, so the c-shared object loads there.
ARG FLUENT_BIT_VERSION=5.1.1

FROM --platform=$BUILDPLATFORM golang:1.26-bookworm AS build
ARG TARGETARCH
ARG VERSION=dev
RUN case "$TARGETARCH" in \
      arm64) pkg=gcc-aarch64-linux-gnu cc=aarch64-linux-gnu-gcc ;; \
      amd64) pkg=gcc-x86-64-linux-gnu cc=x86_64-linux-gnu-gcc ;; \
      *) echo "unsupported TARGETARCH $TARGETARCH" >&2; exit 1 ;; \
    esac && dpkg --add-architecture "$TARGETARCH" && apt-get update -qq \
    && apt-get install -y -qq $pkg "libdeflate-dev:$TARGETARCH" && ln -s "$(command -v $cc)" /usr/local/bin/target-cc
ENV GOOS=linux GOARCH=$TARGETARCH
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY plugin/ plugin/
COPY cloudtrail/ cloudtrail/
ENV LDFLAGS="-s -w -X github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/version.Version=${VERSION}"
RUN CGO_ENABLED=1 CC=target-cc go build -buildmode=c-shared -trimpath -ldflags="$LDFLAGS" \
      -o /out/in_cloudtrail.so ./plugin
# The connection check, static so it runs in the distroless image:
#   docker run --rm --entrypoint /fluent-bit/bin/cloudtrail-check in_cloudtrail -c /fluent-bit/etc/fluent-bit.conf
RUN CGO_ENABLED=0 go build -trimpath -ldflags="$LDFLAGS" -o /out/cloudtrail-check ./cloudtrail/cmd/cloudtrail-check
# The backfill, static too: enqueues a bucket's CloudTrail history for the running inputs.
RUN CGO_ENABLED=0 go build -trimpath -ldflags="$LDFLAGS" -o /out/cloudtrail-backfill ./cloudtrail/cmd/cloudtrail-backfill

FROM fluent/fluent-bit:${FLUENT_BIT_VERSION}
COPY --from=build /out/in_cloudtrail.so /fluent-bit/plugins/in_cloudtrail.so
COPY --from=build /out/cloudtrail-check /fluent-bit/bin/cloudtrail-check
COPY --from=build /out/cloudtrail-backfill /fluent-bit/bin/cloudtrail-backfill
COPY conf/*.conf conf/*.yaml /fluent-bit/etc/
CMD ["/fluent-bit/bin/fluent-bit", "-c", "/fluent-bit/etc/fluent-bit.conf"]
