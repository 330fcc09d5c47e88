# One image for every Clearway service; the compose file picks the module to run.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY libs ./libs
COPY services ./services
COPY schematron ./schematron
COPY clients/python ./clients/python
# The client distribution brings the `clearway` command (`clearway setup`, `clearway admin …`).
RUN pip install --no-cache-dir . ./clients/python && useradd --create-home clearway
USER clearway
ENV PYTHONUNBUFFERED=1 CLEARWAY_SCHEMATRON_DIR=/app/schematron
CMD ["python", "-m", "services.intake", "--host", "0.0.0.0", "--port", "8080"]
