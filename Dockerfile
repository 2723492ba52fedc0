# Latent Playground: one replica of the app. Everything comes from the registries (Docker Hub's
# python image, PyPI, and PyTorch's own index for the CPU build of torch); nothing from this machine.
#
#   docker build -t latent-playground .
#   docker run -p 8501:8501 -v "$PWD/checkpoints:/checkpoints:ro" -v lp-data:/data latent-playground
#
# The checkpoints are not in the image: they are mounted read-only at /checkpoints (the app never
# writes there). The user data folder (/data: saved runs, the "Real or generated?" results) is the
# one writable volume. Many replicas behind a balancer: deploy/compose.yaml and the README.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# torch first, as the CPU build from PyTorch's index (PyPI's Linux wheel of torch==2.13.0 is the CUDA
# one, gigabytes of GPU libraries this app does not use; its dependencies come from PyPI);
# requirements.txt's torch==2.13.0 is then met by the installed 2.13.0+cpu.
COPY requirements.txt ./
RUN pip install --index-url https://download.pytorch.org/whl/cpu --extra-index-url https://pypi.org/simple \
        "torch==2.13.0+cpu" \
 && pip install -r requirements.txt

COPY .streamlit/ .streamlit/
COPY models/ models/
COPY playground/ playground/

# An unprivileged user; /data belongs to it, so a fresh named volume mounted there is writable.
RUN useradd --create-home --uid 10001 app \
 && mkdir -p /data /checkpoints \
 && chown app:app /data
USER app

ENV LATENT_PLAYGROUND_CHECKPOINTS=/checkpoints \
    LATENT_PLAYGROUND_USER_DIR=/data
VOLUME ["/data"]
EXPOSE 8501

HEALTHCHECK --interval=10s --timeout=3s --start-period=60s \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=2)"

CMD ["streamlit", "run", "playground/server.py", \
     "--server.address", "0.0.0.0", "--server.port", "8501", "--server.headless", "true", \
     "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
