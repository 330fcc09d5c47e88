from clearway.runtime import run_worker

from services.converter.handlers import register_handlers

if __name__ == "__main__":
    run_worker("converter", register_handlers)
