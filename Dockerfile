# ShopSphere Customer 360: the API (`c360 serve`) in a slim image, run as a non-root user.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY core core
COPY schema schema
COPY lakehouse lakehouse
COPY ingest ingest
COPY identity identity
COPY risk risk
COPY privacy privacy
COPY profiles profiles
COPY api api
COPY migrations migrations
COPY sample_data sample_data
COPY commands commands
COPY cli.py pipeline.py ./
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 c360
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER c360
WORKDIR /home/c360
ENV C360_HOME=/home/c360/.c360 \
    C360_API__HOST=0.0.0.0 \
    PYTHONUNBUFFERED=1
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s \
    CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"
CMD ["c360", "serve"]
