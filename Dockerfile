# syntax=docker/dockerfile:1
# drawdown: docs/operations.md ("Deployment"). Build: docker build -t drawdown .
# Run: docker run -p 8000:8000 -v drawdown-data:/data drawdown

# Stage 1: wheels for drawdown and every dependency (build tools stay in this stage).
FROM python:3.12-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip wheel --no-cache-dir --wheel-dir /wheels ".[server,metrics]"

# Stage 2: the runtime, installed from those wheels only, run by an unprivileged user.
FROM python:3.12-slim AS runtime
RUN useradd --system --uid 10001 --user-group --home-dir /data --create-home drawdown
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links=/wheels "drawdown[server,metrics]==0.1.0"
ENV DRAWDOWN_HOST=0.0.0.0 \
    DRAWDOWN_PORT=8000 \
    DRAWDOWN_DATABASE_URL=sqlite:////data/drawdown.db \
    DRAWDOWN_LOG_FORMAT=json \
    PYTHONUNBUFFERED=1
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]
# drawdown drains on SIGTERM (docs/operations.md, "Graceful shutdown").
STOPSIGNAL SIGTERM
ENTRYPOINT ["drawdown"]
CMD ["serve"]
