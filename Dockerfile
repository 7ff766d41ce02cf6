# The service image: the api, and later the worker, run from it with different commands.
FROM python:3.11.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY parking ./parking
COPY pricing ./pricing
COPY allocator ./allocator
COPY integrations ./integrations
RUN pip install . && useradd --system --home /app parking
USER parking
EXPOSE 8000
CMD ["parking", "serve", "--host", "0.0.0.0", "--port", "8000"]
