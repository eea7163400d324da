# The cckpi image: the worker by default; `cckpi simulate` and `cckpi topics` run
# from the same image (docker-compose.yml, deploy/k8s/).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY pyproject.toml README.md ./
COPY streams ./streams
RUN pip install . \
    && useradd --system --uid 10001 --user-group --home-dir /var/lib/cckpi --create-home cckpi \
    && rm -rf /src

# The shipped example config; compose and Kubernetes mount their own over it.
COPY deploy/cckpi.yaml /etc/cckpi/cckpi.yaml

ENV CCKPI_CONFIG=/etc/cckpi/cckpi.yaml \
    CCKPI_WEB_BIND=0.0.0.0 \
    CCKPI_WEB_PORT=6066 \
    CCKPI_DATA_DIR=/var/lib/cckpi/data

USER 10001:10001
WORKDIR /var/lib/cckpi
EXPOSE 6066
ENTRYPOINT ["cckpi"]
CMD ["worker"]
