from .cli import main

if __name__ == "__main__":  # not when a build worker process imports this module
    main()
