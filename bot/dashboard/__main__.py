import sys

from bot.dashboard.standalone import main

sys.exit(main())
