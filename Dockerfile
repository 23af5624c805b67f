# Keel's prediction service (and every other keel command) in a slim, non-root image.
# Build: docker build -t keel .      The project (keel.yaml, its contract) is mounted at /project.
FROM python:3.11-slim AS build
WORKDIR /src
COPY deploy/requirements.lock ./requirements.lock
RUN python -m venv /opt/keel \
 && /opt/keel/bin/pip install --no-cache-dir --require-hashes --no-deps -r requirements.lock
COPY pyproject.toml README.md ./
COPY src ./src
RUN /opt/keel/bin/pip install --no-cache-dir --no-deps --no-build-isolation .

FROM python:3.11-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libgomp1 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 10001 keel
COPY --from=build /opt/keel /opt/keel
ENV PATH=/opt/keel/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    KEEL_PROJECT=/project
USER 10001
WORKDIR /project
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]
CMD ["keel", "serve", "--host", "0.0.0.0", "--port", "8000"]
