from clearway.runtime import run_worker

from services.validator.handlers import register_handlers

if __name__ == "__main__":
    run_worker("validator", register_handlers)
