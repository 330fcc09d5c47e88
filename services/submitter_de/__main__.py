from clearway.runtime import run_worker

from services.submitter_de.handlers import register_handlers, work_submissions

if __name__ == "__main__":
    run_worker("submitter_de", register_handlers, background=work_submissions)
