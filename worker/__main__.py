import sys

from worker.loop import main

sys.exit(main())
