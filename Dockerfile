# The portal image: the `portal` package and gunicorn, run as a non-root user. Nothing of a
# tenant is in it: `portal deploy` writes a small Dockerfile that adds the built releases
# on top (FROM this image), and each tenant's data lives on a volume.
#   docker build -t portal-generator:0.1.0 .
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/portal
COPY pyproject.toml setup.py babel.cfg cli.py /src/
COPY generator /src/generator
COPY runtime /src/runtime
COPY schemas /src/schemas
COPY themes /src/themes
COPY tenants /src/tenants
RUN /opt/portal/bin/pip install /src

FROM python:3.11-slim
ENV PATH=/opt/portal/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
RUN groupadd --system --gid 10001 portal \
    && useradd --system --uid 10001 --gid portal --home-dir /srv/portals --no-create-home portal \
    && install -d -o root -g root -m 0755 /srv/portals
COPY --from=build /opt/portal /opt/portal
USER 10001:10001
WORKDIR /srv/portals
EXPOSE 8000
CMD ["portal", "--help"]
