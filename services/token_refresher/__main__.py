from clearway.runtime import run_worker

from services.token_refresher.handlers import refresh_tokens, register_handlers

if __name__ == "__main__":
    run_worker("token_refresher", register_handlers, background=refresh_tokens)
