# syntax=docker/dockerfile:1
# Build: docker build -t followup .
# Run:   docker run -p 8080:8080 -v followup-data:/data followup

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/followup ./cmd/followup \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/followup /usr/local/bin/followup
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
VOLUME /data
ENV FOLLOWUP_ADDR=0.0.0.0:8080 \
    FOLLOWUP_DATABASE=sqlite:/data/followup.db \
    FOLLOWUP_SECRET_FILE=/data/secret.key
EXPOSE 8080
HEALTHCHECK NONE
ENTRYPOINT ["/usr/local/bin/followup"]
CMD ["serve"]
