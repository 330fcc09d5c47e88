from clearway.runtime import run_worker

from services.poller.handlers import follow_uploads, register_handlers

if __name__ == "__main__":
    run_worker("poller", register_handlers, background=follow_uploads)
