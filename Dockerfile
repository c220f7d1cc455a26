# syntax=docker/dockerfile:1
# The gateway with every provider plugin: docker build -t gateway . && docker run -p 8080:8080 gateway
# Config: mount a file and pass it (-v ./gateway.yaml:/etc/gateway/gateway.yaml:ro ... serve --config
# /etc/gateway/gateway.yaml), or give only provider keys in the environment (OPENAI_API_KEY, ...).

FROM python:3.11-slim AS build
WORKDIR /src
COPY gateway-core/ gateway-core/
COPY providers/ providers/
RUN python -m venv /opt/gateway \
    && /opt/gateway/bin/pip install --no-cache-dir "./gateway-core[redis]" ./providers/openai ./providers/anthropic \
       ./providers/google

FROM python:3.11-slim
RUN groupadd --system --gid 10001 gateway \
    && useradd --system --uid 10001 --gid gateway --home-dir /var/lib/gateway --create-home gateway
COPY --from=build /opt/gateway /opt/gateway
ENV PATH=/opt/gateway/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    XDG_DATA_HOME=/var/lib/gateway
USER 10001:10001
WORKDIR /var/lib/gateway
EXPOSE 8080
# uvicorn drains on SIGTERM: it stops accepting and gives in-flight requests server.shutdown_grace seconds
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2)"]
ENTRYPOINT ["gateway"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8080", "--log-stream", "stdout"]
