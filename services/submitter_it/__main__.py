from clearway.runtime import run_worker

from services.submitter_it.handlers import register_handlers, work_submissions

if __name__ == "__main__":
    run_worker("submitter_it", register_handlers, background=work_submissions)
